"""The network as data (no Brian2): populations, neuron models, projections, inputs, model files."""
