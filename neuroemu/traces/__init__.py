"""One self-describing HDF5 file per run: the only package that imports h5py."""
