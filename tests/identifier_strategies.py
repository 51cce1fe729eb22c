"""Hypothesis strategies for GS1 identifiers: company prefixes with references, serials, and
the TDS escaping of a value inside an EPC URN."""

from __future__ import annotations

from hypothesis import strategies as st

_URN_ESCAPES = {c: f"%{ord(c):02X}" for c in '"%&/<>?'}
CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"


def urn_escape(text: str) -> str:
    """TDS escaping of a CSET 82 value inside an EPC URN."""
    return "".join(_URN_ESCAPES.get(c, c) for c in text)


serials = st.text(alphabet=CSET82, min_size=1, max_size=20)


@st.composite
def cp_and_ref(draw: st.DrawFn, total: int) -> tuple[str, str]:
    """A company prefix of 6 to 12 digits and a reference making ``total`` digits."""
    length = draw(st.integers(min_value=6, max_value=min(12, total)))
    number = draw(st.text(alphabet="0123456789", min_size=total, max_size=total))
    return number[:length], number[length:]
