"""Running trained models on images of any size: tiling (pure) and predictors."""
