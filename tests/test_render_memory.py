"""renderers.render_memory: what one render alone made is not kept past it."""
from __future__ import annotations

from renderers.render_memory import RenderMemory


def test_a_render_is_served_its_own_entries_which_go_when_it_ends():
    memory = RenderMemory(10)
    memory.put("reference", 1)
    assert memory.get("reference") == 1 and len(memory) == 0
    memory.end_render()
    assert memory.get("reference") is None and memory.made_before("reference")


def test_what_a_second_render_makes_again_is_kept():
    memory = RenderMemory(10)
    memory.put("label", "first")
    memory.end_render()
    memory.put("label", "second")
    memory.end_render()
    assert memory.get("label") == "second" and len(memory) == 1
    memory.put("value", 1)
    memory.end_render()
    assert memory.get("value") is None and len(memory) == 1


def test_kept_entries_are_bounded_least_recently_used_first():
    memory = RenderMemory(2)
    for _ in range(2):
        for key in ("a", "b", "c"):
            memory.put(key, key)
        memory.end_render()
    assert len(memory) == 2 and memory.get("a") is None
    memory.get("b")
    memory.keep("d", "d")
    assert memory.get("c") is None and memory.get("b") == "b" and memory.get("d") == "d"


def test_the_keys_of_earlier_renders_are_bounded_oldest_first():
    memory = RenderMemory(10, remembered_keys=3)
    for n in range(5):
        memory.put(f"one-off {n}", n)
        memory.end_render()
    assert memory.keys_made_before() == 3
    assert not memory.made_before("one-off 0") and memory.made_before("one-off 4")
