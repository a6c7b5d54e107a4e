"""Figures: label outlines drawn over images."""
