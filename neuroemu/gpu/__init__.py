"""The GPU side: a time and energy model, and a measured mode (NVML) where a GPU exists."""
