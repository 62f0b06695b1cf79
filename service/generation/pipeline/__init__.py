"""The generator: the only package that imports torch and diffusers, and only when a model loads."""

from service.generation.pipeline.catalog import model_entries
from service.generation.pipeline.generator import DiffusersGenerator
from service.generation.pipeline.loader import load_generator, load_model

__all__ = ["DiffusersGenerator", "load_generator", "load_model", "model_entries"]
