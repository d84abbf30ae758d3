"""`/bake` text at scale (hypothesis): any text is a command or one BadRequest, and a valid command round-trips."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from bot.commands.parser import AMI_RE, SOURCE_AMI_KEY, parse_command
from bot.config import IMAGE_NAME_RE, VARIABLE_KEY_RE, VARIABLE_VALUE_RE, parse_config
from bot.domain.commands import Bake, Command, Help, ListImages, Rollout, Status
from bot.domain.errors import BadRequest, ConfigError

# Words the parser gives meaning to, mixed into arbitrary text so that it reaches past the first check.
KEYWORDS = ["help", "list", "status", "rollout", "base", "web", "=", "source_ami=", "ami-0123456789abcdef0", "b-7f3k2q"]


def accepted_as_image_name(name: str) -> bool:
    """Whether a configuration may name an image so: only such an image can ever be baked with `/bake`."""
    try:
        parse_config(f"slack: {{channel: C0BAKERY}}\nimages:\n  '{name}': {{repository: /srv/x.git, pipeline: p}}\n")
    except ConfigError:
        return False
    return True


# The words `/bake` gives a meaning to, and names that look like record ids, are the names most likely to clash.
CLASHING = ["help", "list", "status", "rollout", "fleet", "revoke", "gc", "b-7f3k2q", "r-abcdef", "t-abcdef"]
image_names = (st.sampled_from(CLASHING) | st.from_regex(IMAGE_NAME_RE, fullmatch=True)).filter(accepted_as_image_name)
variable_keys = st.from_regex(VARIABLE_KEY_RE, fullmatch=True).filter(lambda k: k != SOURCE_AMI_KEY)
# What a variable value may be (the parser's documented rule): the safe characters, no `..`, no leading `-`.
variable_values = st.from_regex(VARIABLE_VALUE_RE, fullmatch=True).filter(
    lambda v: ".." not in v and not v.startswith("-")
)
ami_ids = st.from_regex(AMI_RE, fullmatch=True)
# A reason is printable words; its first word has no `=`, or it would read as one more variable.
reason_words = st.text(
    st.characters(exclude_categories=("C", "Z")),  # what clean_reason keeps as it is
    min_size=1,
    max_size=20,
)


@st.composite
def reasons(draw: st.DrawFn) -> str:
    words = draw(st.lists(reason_words, max_size=8))
    if words and "=" in words[0]:
        words[0] = words[0].replace("=", "")
    return " ".join(w for w in words if w)[:300].strip()


@st.composite
def bakes(draw: st.DrawFn) -> Bake:
    return Bake(
        image=draw(image_names),
        variables=draw(st.dictionaries(variable_keys, variable_values, max_size=4)),
        reason=draw(reasons()),
        source_ami=draw(st.none() | ami_ids),
    )


def render(command: Command) -> str:
    """The text a person would type for `command`."""
    match command:
        case Help():
            return "help"
        case ListImages():
            return "list"
        case Status(subject):
            return f"status {subject or ''}"
        case Rollout(target, ami_id):
            return f"rollout {target} {ami_id or ''}"
        case Bake(image, variables, reason, source_ami):
            pins = [f"{SOURCE_AMI_KEY}={source_ami}"] if source_ami else []
            return " ".join([image, *pins, *(f"{k}={v}" for k, v in variables.items()), reason])
    raise AssertionError(command)


other_commands = st.one_of(
    st.just(Help()),
    st.just(ListImages()),
    st.builds(Status, st.none() | image_names | st.from_regex(r"\A[bhr]-[a-z0-9]{6,12}\Z")),
    st.builds(Rollout, image_names, st.none() | ami_ids),
)


@given(st.text(max_size=300) | st.lists(st.sampled_from(KEYWORDS) | st.text(max_size=12)).map(" ".join))
@example("x" * 4001)
@example("web a=1 a=2")
def test_any_bake_text_is_a_command_or_one_sentence_saying_what_is_wrong(text):
    try:
        parse_command(text)
    except BadRequest as refusal:
        assert str(refusal).strip() and "\n" not in str(refusal)


@given(bakes())
def test_a_bake_typed_as_a_person_would_parses_back_to_the_same_request(bake):
    assert parse_command(render(bake)) == bake


@given(other_commands)
def test_every_other_subcommand_typed_out_parses_back_to_itself(command):
    assert parse_command(render(command)) == command
