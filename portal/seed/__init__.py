"""Content the product ships with: the default questionnaire templates (zh and en)."""
