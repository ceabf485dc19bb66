"""Atelier's inference worker: turns `inference.job.requested` jobs into stored images."""
