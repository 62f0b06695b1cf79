"""Request handling: revalidation, generation, PNG encoding and error translation."""
