"""The generator: the only package that imports torch and diffusers, and only when a model loads."""

from service.generator.diffusers_generator import DiffusersGenerator
from service.generator.loader import load_generator

__all__ = ["DiffusersGenerator", "load_generator"]
