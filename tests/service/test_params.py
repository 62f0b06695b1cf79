"""Revalidation and resolution of generation requests against a profile and limits."""

from __future__ import annotations

import pytest

from core.exceptions import InvalidInput
from core.models import SEED_MAX, GenerationRequest
from service.images.params import resolve, revalidate


def resolved(data: dict, profile, limits):
    return resolve(revalidate(data), profile, limits)


def test_defaults_come_from_the_profile(profile, limits):
    params = resolved({"prompt": "a cat"}, profile, limits)
    assert (params.steps, params.guidance_scale) == (profile.steps, profile.guidance_scale)
    assert (params.width, params.height) == (profile.width, profile.height)
    assert params.prompt == "a cat"
    assert params.negative_prompt == ""


def test_given_values_replace_the_defaults(profile, limits):
    request = {"prompt": "p", "negative_prompt": "n", "seed": 9, "steps": 7, "guidance_scale": 0, "width": 64}
    params = resolved(request, profile, limits)
    assert (params.negative_prompt, params.seed, params.steps) == ("n", 9, 7)
    assert params.guidance_scale == 0.0 and isinstance(params.guidance_scale, float)
    assert (params.width, params.height) == (64, profile.height)


def test_a_seed_is_chosen_when_absent_and_lies_in_range(profile, limits):
    seeds = [resolved({"prompt": "a cat"}, profile, limits).seed for _ in range(50)]
    assert all(0 <= seed <= SEED_MAX for seed in seeds)
    assert len(set(seeds)) > 1


@pytest.mark.parametrize("seed", [0, 1, SEED_MAX])
def test_a_given_seed_is_kept(profile, limits, seed):
    assert resolved({"prompt": "a cat", "seed": seed}, profile, limits).seed == seed


OVER_LIMITS = [
    pytest.param("steps", lambda lim: {"steps": lim.max_steps + 1}, id="steps"),
    pytest.param("width", lambda lim: {"width": lim.max_side + 8}, id="width"),
    pytest.param("height", lambda lim: {"height": lim.max_side + 8}, id="height"),
    pytest.param(
        "width", lambda lim: {"width": lim.max_side, "height": lim.max_pixels // lim.max_side + 8}, id="pixels"
    ),
    pytest.param("guidance_scale", lambda lim: {"guidance_scale": lim.max_guidance + 0.5}, id="guidance"),
    pytest.param("prompt", lambda lim: {"prompt": "x" * (lim.max_prompt_chars + 1)}, id="prompt"),
    pytest.param("negative_prompt", lambda lim: {"negative_prompt": "x" * (lim.max_prompt_chars + 1)}, id="negative"),
]


@pytest.mark.parametrize(("field", "over"), OVER_LIMITS)
def test_each_limit_raises_invalid_input_naming_its_field(profile, limits, field, over):
    with pytest.raises(InvalidInput) as caught:
        resolved({"prompt": "a cat"} | over(limits), profile, limits)
    assert caught.value.field == field
    assert caught.value.status_code == 422
    assert field in caught.value.message


def test_values_at_the_limits_are_accepted(profile, limits):
    side = limits.max_side
    at_limit = {
        "prompt": "x" * limits.max_prompt_chars,
        "negative_prompt": "y" * limits.max_prompt_chars,
        "steps": limits.max_steps,
        "guidance_scale": limits.max_guidance,
        "width": side,
        "height": limits.max_pixels // side // 8 * 8,
    }
    params = resolved(at_limit, profile, limits)
    assert params.width * params.height <= limits.max_pixels
    assert params.steps == limits.max_steps


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"prompt": "a cat", "width": 100}, "width"),
        ({"prompt": "a cat", "height": 63}, "height"),
        ({"prompt": "   \t\n"}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({}, "prompt"),
        ({"prompt": "nul\x00byte"}, "prompt"),
        ({"prompt": "bell\x07"}, "prompt"),
        ({"prompt": "delete\x7f"}, "prompt"),
        ({"prompt": "a cat", "negative_prompt": "esc\x1b[31m"}, "negative_prompt"),
        ({"prompt": "a cat", "seed": "5"}, "seed"),
        ({"prompt": "a cat", "seed": -1}, "seed"),
        ({"prompt": "a cat", "seed": SEED_MAX + 1}, "seed"),
        ({"prompt": "a cat", "steps": 2.5}, "steps"),
        ({"prompt": "a cat", "steps": 0}, "steps"),
        ({"prompt": "a cat", "steps": True}, "steps"),
        ({"prompt": "a cat", "guidance_scale": "7"}, "guidance_scale"),
        ({"prompt": "a cat", "guidance_scale": float("nan")}, "guidance_scale"),
        ({"prompt": "a cat", "guidance_scale": -0.5}, "guidance_scale"),
        ({"prompt": 123}, "prompt"),
        ({"prompt": ["a", "cat"]}, "prompt"),
    ],
)
def test_malformed_requests_raise_invalid_input_via_revalidate(data, field):
    with pytest.raises(InvalidInput) as caught:
        revalidate(data)
    assert caught.value.field == field
    assert caught.value.status_code == 422


def test_tabs_and_newlines_are_allowed_in_prompts():
    assert revalidate({"prompt": "a\tcat\r\non a mat"}).prompt == "a\tcat\r\non a mat"


def test_revalidate_checks_a_request_model_again():
    smuggled = GenerationRequest.model_construct(prompt="a cat", steps=-3)
    with pytest.raises(InvalidInput) as caught:
        revalidate(smuggled)
    assert caught.value.field == "steps"


def test_unknown_fields_are_ignored():
    assert revalidate({"prompt": "a cat", "clip_skip": 2}) == GenerationRequest(prompt="a cat")
