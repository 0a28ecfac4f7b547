"""Figures: image grids of proxies, rank-correlation plots, learning curves."""
