"""The renderer (moderngl + pyglm). Never imports torch."""
