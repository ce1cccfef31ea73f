"""Placement of neurons in space."""
