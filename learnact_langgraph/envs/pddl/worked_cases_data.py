"""The data behind :mod:`.worked_cases`: our own small problems, attempts and answers.

Everything here is written by hand except the observations, which are never stored:
:mod:`.worked_cases` plays each problem on the simulator to produce them. Object names are
our own (fruit, stones, car parts, drinks), so no problem repeats a benchmark task or its
object names. Each stored ``substeps`` list is what the case's library function calls on
the case's state, all of it (the sandbox lets a function run on after an invalid call);
the tests run the library in a real sandbox and compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ReflexionCase:
    """A failed attempt on ``problem`` and the plan written for the next attempt."""

    problem: str
    attempt: tuple[str, ...]
    plan: str


@dataclass(frozen=True)
class RevisionCase:
    """One failing learned-action call and how the learner answered it.

    ``prefix`` (base calls) leads from the initial state to the state of the failing
    ``call``; ``substeps`` are the base calls the library makes for it. ``content`` is the
    new code for an Update, the usage note for a Plan; ``follow`` are the base calls that
    establish what a Plan's note asks for, after which ``call`` succeeds.
    """

    problem: str
    library: str
    prefix: tuple[str, ...]
    call: str
    substeps: tuple[str, ...]
    reason: str
    kind: Literal["update", "plan"]
    content: str
    follow: tuple[str, ...] = ()


REFLEXION: dict[str, ReflexionCase] = {
    "gripper": ReflexionCase(
        """(define (problem worked-gripper-attempt) (:domain gripper)
  (:objects porch shed kiwi lime plum left right)
  (:init (room porch) (room shed) (ball kiwi) (ball lime) (ball plum) (gripper left)
         (gripper right) (at-robby porch) (at kiwi porch) (at lime porch) (at plum porch)
         (free left) (free right))
  (:goal (and (at kiwi shed) (at lime shed) (at plum shed))))""",
        (
            "pick('kiwi', 'porch', 'left')",
            "move('porch', 'shed')",
            "drop('kiwi', 'shed', 'left')",
            "pick('lime', 'shed', 'right')",
            "move('shed', 'porch')",
        ),
        "Fill both grippers before every trip: pick up one ball with left and one with "
        "right, move once, then drop both. Robby can only pick up a ball in the room he is "
        "in, so after dropping, move back to the room where balls are still waiting.",
    ),
    "blockworld": ReflexionCase(
        """(define (problem worked-blocks-attempt) (:domain blockworld)
  (:objects amber jade onyx)
  (:init (on jade amber) (on-table amber) (on-table onyx) (clear jade) (clear onyx)
         (arm-empty))
  (:goal (and (on amber onyx) (on jade amber))))""",
        (
            "Pickup('amber')",
            "Unstack('jade', 'amber')",
            "Stack('jade', 'onyx')",
            "Pickup('amber')",
            "Stack('amber', 'onyx')",
        ),
        "Build every tower from the bottom up. First clear the blocks that must end up low "
        "by putting whatever stands on them on the table, never on a block that something "
        "else still has to go on; then stack the goal blocks in order, lowest first.",
    ),
    "barman": ReflexionCase(
        """(define (problem worked-barman-attempt) (:domain barman)
  (:objects tin - shaker left right - hand flute tumbler - shot rum lime - ingredient
            daiquiri - cocktail rumtap limetap - dispenser l0 l1 l2 - level)
  (:init (ontable tin) (ontable flute) (ontable tumbler) (dispenses rumtap rum)
         (dispenses limetap lime) (clean tin) (clean flute) (clean tumbler) (empty tin)
         (empty flute) (empty tumbler) (handempty left) (handempty right)
         (shaker-empty-level tin l0) (shaker-level tin l0) (next l0 l1) (next l1 l2)
         (cocktail-part1 daiquiri rum) (cocktail-part2 daiquiri lime))
  (:goal (and (contains flute daiquiri))))""",
        (
            "grasp('left', 'flute')",
            "fill_shot('flute', 'rum', 'left', 'right', 'rumtap')",
            "pour_shot_to_clean_shaker('flute', 'rum', 'tin', 'left', 'l0', 'l1')",
            "fill_shot('flute', 'lime', 'left', 'right', 'limetap')",
            "refill_shot('flute', 'lime', 'left', 'right', 'limetap')",
        ),
        "A shot glass that has held one ingredient is no longer clean: empty it and clean "
        "it with clean_shot (other hand empty) before it takes anything else, or use a "
        "second clean glass. Put both parts of the cocktail in the shaker, shake it, and "
        "pour it into a clean, empty shot glass.",
    ),
    "tyreworld": ReflexionCase(
        """(define (problem worked-tyre-attempt) (:domain tyreworld)
  (:objects nave - hub bolts - nut trunk - container worn fresh - wheel)
  (:init (have wrench) (have jack) (in pump trunk) (unlocked trunk) (isopen trunk)
         (intact fresh) (in fresh trunk) (not-inflated fresh) (on worn nave)
         (on-ground nave) (tight bolts nave) (fastened nave))
  (:goal (and (on fresh nave) (inflated fresh) (in worn trunk))))""",
        (
            "loosen('bolts', 'nave')",
            "jack_up('nave')",
            "undo('bolts', 'nave')",
            "remove_wheel('worn', 'nave')",
            "put_on_wheel('fresh', 'nave')",
        ),
        "Before raising a hub, take everything the swap needs out of its container (wrench, "
        "jack, pump and the spare wheel): put_on_wheel needs the wheel in hand. Inflate the "
        "spare with the pump; after fitting it, do the nuts up, lower the hub and tighten "
        "the nuts, then put the old wheel and the tools away.",
    ),
}


_CARRY_PAIR = '''def carry_pair(ball1, ball2, from_room, to_room, gripper1, gripper2):
    """Carry ball1 and ball2 together from from_room to to_room, one in each gripper."""
    pick(ball1, from_room, gripper1)
    pick(ball2, from_room, gripper2)
    move(from_room, to_room)
    drop(ball1, to_room, gripper1)
    return drop(ball2, to_room, {last})'''

_FLIP_PAIR = '''def flip_pair(upper, lower):
    """Turn a two-block tower over: upper stands on lower; afterwards lower is on upper."""
    Unstack(upper, lower){fix}
    Pickup(lower)
    return Stack(lower, upper)'''

_SWAP_DRINK = '''def swap_drink(shot, old, new, hand, other_hand, dispenser):
    """Empty shot, held in hand and holding old, and fill it with new from dispenser."""
    empty_shot(hand, shot, old){fix}
    return fill_shot(shot, new, hand, other_hand, dispenser)'''

_STRIP_HUB = '''def strip_hub(wheel, nut, hub):
    """Take wheel off hub, whose nut is tight. Needs the wrench and the jack in hand."""
{body}
    undo(nut, hub)
    return remove_wheel(wheel, hub)'''

REVISION: dict[str, tuple[RevisionCase, RevisionCase]] = {
    "gripper": (
        RevisionCase(
            """(define (problem worked-gripper-update) (:domain gripper)
  (:objects attic cellar pear fig left right)
  (:init (room attic) (room cellar) (ball pear) (ball fig) (gripper left) (gripper right)
         (at-robby cellar) (at pear attic) (at fig attic) (free left) (free right))
  (:goal (and (at pear cellar) (at fig cellar))))""",
            _CARRY_PAIR.format(last="gripper1"),
            ("move('cellar', 'attic')",),
            "carry_pair('pear', 'fig', 'attic', 'cellar', 'left', 'right')",
            (
                "pick('pear', 'attic', 'left')",
                "pick('fig', 'attic', 'right')",
                "move('attic', 'cellar')",
                "drop('pear', 'cellar', 'left')",
                "drop('fig', 'cellar', 'left')",
            ),
            "The last drop lets go of ball2 with gripper1, but ball2 is held by gripper2; "
            "gripper1 is already free after the first drop.",
            "update",
            _CARRY_PAIR.format(last="gripper2"),
        ),
        RevisionCase(
            """(define (problem worked-gripper-plan) (:domain gripper)
  (:objects garden garage melon peach left right)
  (:init (room garden) (room garage) (ball melon) (ball peach) (gripper left)
         (gripper right) (at-robby garden) (at melon garden) (at peach garden) (free left)
         (free right))
  (:goal (and (at melon garage) (at peach garage))))""",
            '''def bring_ball(ball, from_room, to_room, gripper):
    """Pick ball up in from_room, take it to to_room and drop it there."""
    pick(ball, from_room, gripper)
    move(from_room, to_room)
    return drop(ball, to_room, gripper)''',
            (
                "pick('melon', 'garden', 'left')",
                "move('garden', 'garage')",
                "drop('melon', 'garage', 'left')",
            ),
            "bring_ball('peach', 'garden', 'garage', 'left')",
            (
                "pick('peach', 'garden', 'left')",
                "move('garden', 'garage')",
                "drop('peach', 'garage', 'left')",
            ),
            "Robby was in garage, not in garden, so he could not pick peach up there, and "
            "the move and the drop that followed failed as well.",
            "plan",
            "Call bring_ball only when Robby is in from_room, where the ball lies; if he is "
            "in another room, move him to from_room first.",
            ("move('garage', 'garden')",),
        ),
    ),
    "blockworld": (
        RevisionCase(
            """(define (problem worked-blocks-update) (:domain blockworld)
  (:objects slate chalk flint)
  (:init (on flint slate) (on slate chalk) (on-table chalk) (clear flint) (arm-empty))
  (:goal (and (on chalk slate))))""",
            _FLIP_PAIR.format(fix=""),
            ("Unstack('flint', 'slate')", "Putdown('flint')"),
            "flip_pair('slate', 'chalk')",
            ("Unstack('slate', 'chalk')", "Pickup('chalk')", "Stack('chalk', 'slate')"),
            "After Unstack the arm still holds upper, and Pickup needs an empty arm; upper "
            "must be put down on the table before lower can be lifted.",
            "update",
            _FLIP_PAIR.format(fix="\n    Putdown(upper)"),
        ),
        RevisionCase(
            """(define (problem worked-blocks-plan) (:domain blockworld)
  (:objects cobalt ochre umber)
  (:init (on-table cobalt) (on-table ochre) (on-table umber) (clear cobalt) (clear ochre)
         (clear umber) (arm-empty))
  (:goal (and (on ochre cobalt) (on umber ochre))))""",
            '''def place_on(block, target):
    """Lift block, clear and on the table, and stack it on target."""
    Pickup(block)
    return Stack(block, target)''',
            ("Pickup('umber')", "Stack('umber', 'cobalt')"),
            "place_on('ochre', 'cobalt')",
            ("Pickup('ochre')", "Stack('ochre', 'cobalt')"),
            "cobalt was not clear: umber stands on it, and a block can only be stacked on a "
            "clear one.",
            "plan",
            "Before calling place_on, make sure target is clear: if a block stands on it, "
            "Unstack that block and Putdown it on the table first.",
            ("Unstack('umber', 'cobalt')", "Putdown('umber')"),
        ),
    ),
    "barman": (
        RevisionCase(
            """(define (problem worked-barman-update) (:domain barman)
  (:objects mixer - shaker left right - hand cup - shot vodka soda - ingredient
            highball - cocktail vodkatap sodatap - dispenser l0 l1 l2 - level)
  (:init (ontable mixer) (ontable cup) (dispenses vodkatap vodka) (dispenses sodatap soda)
         (clean mixer) (clean cup) (empty mixer) (empty cup) (handempty left)
         (handempty right) (shaker-empty-level mixer l0) (shaker-level mixer l0)
         (next l0 l1) (next l1 l2) (cocktail-part1 highball vodka)
         (cocktail-part2 highball soda))
  (:goal (and (contains cup soda))))""",
            _SWAP_DRINK.format(fix=""),
            ("grasp('left', 'cup')", "fill_shot('cup', 'vodka', 'left', 'right', 'vodkatap')"),
            "swap_drink('cup', 'vodka', 'soda', 'left', 'right', 'sodatap')",
            (
                "empty_shot('left', 'cup', 'vodka')",
                "fill_shot('cup', 'soda', 'left', 'right', 'sodatap')",
            ),
            "fill_shot needs a clean glass, and emptying cup does not clean it: the glass "
            "still counts as used for vodka.",
            "update",
            _SWAP_DRINK.format(fix="\n    clean_shot(shot, old, hand, other_hand)"),
        ),
        RevisionCase(
            """(define (problem worked-barman-plan) (:domain barman)
  (:objects pitcher - shaker left right - hand coupe snifter - shot cognac cream - ingredient
            alexander - cocktail cognactap creamtap - dispenser l0 l1 l2 - level)
  (:init (ontable pitcher) (ontable coupe) (holding left snifter) (handempty right)
         (contains snifter cream) (used snifter cream) (contains pitcher cognac)
         (unshaked pitcher) (clean coupe) (empty coupe) (dispenses cognactap cognac)
         (dispenses creamtap cream) (shaker-empty-level pitcher l0)
         (shaker-level pitcher l1) (next l0 l1) (next l1 l2)
         (cocktail-part1 alexander cognac) (cocktail-part2 alexander cream))
  (:goal (and (contains coupe alexander))))""",
            '''def shake_cocktail(cocktail, ingredient1, ingredient2, shaker, hand, other_hand):
    """Take the shaker in hand and shake its two ingredients into cocktail."""
    grasp(hand, shaker)
    return shake(cocktail, ingredient1, ingredient2, shaker, hand, other_hand)''',
            ("pour_shot_to_used_shaker('snifter', 'cream', 'pitcher', 'left', 'l1', 'l2')",),
            "shake_cocktail('alexander', 'cognac', 'cream', 'pitcher', 'right', 'left')",
            (
                "grasp('right', 'pitcher')",
                "shake('alexander', 'cognac', 'cream', 'pitcher', 'right', 'left')",
            ),
            "shake needs other_hand to be empty, but left was still holding snifter.",
            "plan",
            "Call shake_cocktail with both hands empty: shake needs other_hand free, so put "
            "any glass you hold back on the table with leave first.",
            ("leave('left', 'snifter')",),
        ),
    ),
    "tyreworld": (
        RevisionCase(
            """(define (problem worked-tyre-update) (:domain tyreworld)
  (:objects axle - hub lugs - nut trunk - container bald spare - wheel)
  (:init (in jack trunk) (in pump trunk) (in wrench trunk) (unlocked trunk) (closed trunk)
         (intact spare) (in spare trunk) (not-inflated spare) (on bald axle)
         (on-ground axle) (tight lugs axle) (fastened axle))
  (:goal (and (on spare axle) (inflated spare) (in bald trunk))))""",
            _STRIP_HUB.format(body="    jack_up(hub)\n    loosen(nut, hub)"),
            ("open('trunk')", "fetch('wrench', 'trunk')", "fetch('jack', 'trunk')"),
            "strip_hub('bald', 'lugs', 'axle')",
            (
                "jack_up('axle')",
                "loosen('lugs', 'axle')",
                "undo('lugs', 'axle')",
                "remove_wheel('bald', 'axle')",
            ),
            "loosen needs the hub on the ground, but the function jacks it up first; undo "
            "and remove_wheel then fail because the nut was never loosened.",
            "update",
            _STRIP_HUB.format(body="    loosen(nut, hub)\n    jack_up(hub)"),
        ),
        RevisionCase(
            """(define (problem worked-tyre-plan) (:domain tyreworld)
  (:objects corner - hub studs - nut locker - container burst backup - wheel)
  (:init (have wrench) (have studs) (have burst) (in pump locker) (unlocked locker)
         (isopen locker) (intact backup) (in backup locker) (inflated backup)
         (not-on-ground corner) (unfastened corner) (free corner))
  (:goal (and (on backup corner) (tight studs corner) (in burst locker))))""",
            '''def fit_wheel(wheel, nut, hub):
    """Put wheel on the raised, bare hub, do the nut up, lower the hub, tighten the nut."""
    put_on_wheel(wheel, hub)
    do_up(nut, hub)
    jack_down(hub)
    return tighten(nut, hub)''',
            ("put_away('burst', 'locker')",),
            "fit_wheel('backup', 'studs', 'corner')",
            (
                "put_on_wheel('backup', 'corner')",
                "do_up('studs', 'corner')",
                "jack_down('corner')",
                "tighten('studs', 'corner')",
            ),
            "put_on_wheel needs the wheel in hand, but backup was still in the locker; the "
            "nut then went back on a hub with no wheel.",
            "plan",
            "Call fit_wheel only while you hold wheel: fetch it from its open container "
            "first. The hub must be raised, unfastened and bare, and you need the wrench "
            "and the nut.",
            ("fetch('backup', 'locker')",),
        ),
    ),
}
