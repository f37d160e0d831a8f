"""What kind of answer a question asks for, read from its wording alone.

A "how many" question wants a figure, "how much was spent" a sum of money,
"who wrote" people, "how did the minister answer" a reply, "what did she ask"
the records' own questions. The composer checks the evidence against these
(a passage on the subject without the figure asked for is no answer) and the
retrieval uses the last. Swedish and English wordings side by side.
"""

from __future__ import annotations

import re

NUMBER = re.compile(r"\b\d[\d\s,.]*\d\b|\b\d+\b")
_QUANTITY_QUESTION = re.compile(
    r"\b(?:how (?:many|much|large|big|long|high|great|often)"
    r"|what (?:share|proportion|percentage|number|amount)|what (?:is|was|are|were) the average"
    r"|hur (?:många|mycket|stor[at]?|lång[at]?|hög[at]?|ofta)|vilken andel|genomsnittlig\w*|medelålder\w*)\b",
    re.IGNORECASE,
)
_QUANTITY_WORDS = frozenset(
    (
        "två tre fyra fem sex sju åtta nio tio elva tolv tretton fjorton femton sexton sjutton arton nitton "
        "tjugo trettio fyrtio femtio sextio sjuttio åttio nittio hundra tusen miljon miljoner miljard "
        "miljarder hälften halva dubbelt procent procentenheter tredje fjärde femte sjätte sjunde åttonde "
        "nionde tionde tredjedel tredjedelar fjärdedel fjärdedelar dussin two three four five six seven "
        "eight nine ten eleven twelve fifteen twenty thirty forty fifty hundred thousand million millions "
        "billion half double percent third fourth fifth sixth seventh eighth ninth tenth quarter dozen"
    ).split()
)
_YEAR = re.compile(r"(?:19|20)\d\d")


def asks_for_quantity(question: str) -> bool:
    """A "how many" or "hur stort" question wants a figure: a passage without one is no answer.

    So does one after a price, a budget or a salary ("Vad kostar …?", "What is the starting salary?").
    """
    return (
        bool(_QUANTITY_QUESTION.search(question))
        or asks_for_money(question)
        or asks_for_pay(question)
        or bool(_WAITING_ASKED.search(question) and _AVERAGE.search(question))  # "Average waiting time …?"
    )


_AVERAGE = re.compile(r"\b(?:average|mean|median|i\s+snitt|genomsnitt\w*|medel\w*)\b", re.IGNORECASE)


_MONTHS = (
    "januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december"
    "|january|february|march|june|july|august|october"
)
_NOT_A_FIGURE = re.compile(
    # dates ("12 januari", "den 1 december", "May 31", "12/5 2026", "2024-12-01"), document numbers
    # ("2020/21:350", "SOU 2005:88", "prot. 2005/06:59"), paragraphs ("3 §") and names ending in a
    # number ("covid-19"): numbers that count nothing
    rf"\b\d{{1,2}}(?:\s|&nbsp;)+(?:{_MONTHS})\b|\b(?:{_MONTHS})\s+\d{{1,2}}\b|\b[^\W\d_]+-\d+\b"
    r"|\b\d{4}/\d{2,4}(?::\d+)?|\b(?:SOU|Ds|prop\.?|bet\.?|dnr|nr)\s*\d[\d:/.-]*|\b\d+\s*(?:§|kap\.?)"
    r"|\b\d{1,2}/\d{1,2}\s+(?:19|20)\d\d\b|\bden\s+\d{1,2}/\d{1,2}\b|\b\d{4}-\d{2}-\d{2}\b",
    re.IGNORECASE,
)
_MONEY_QUESTION = re.compile(
    r"\b(?:how much|hur mycket|vad kosta|what did\b.*\bcost)\b.*"
    r"\b(?:money|spent|spend|cost|costs|budget\w*|grant\w*|fund\w*|kronor|pengar|kosta\w*|kostnad\w*"
    r"|statsbidrag\w*|anslag\w*|satsa\w*|avsatt\w*|satsning\w*|invest\w*|worth|värd|värt"
    r"|set aside|put into)\b",
    re.IGNORECASE,
)
# asked what something costs, or what a budget is, the price is the answer with no other money word
_COST_QUESTION = re.compile(
    r"\bvad kosta(?:r|de|t)\b|\bwhat (?:does|do|did|will)\b[^?]*\bcost\b"
    r"|\b(?:vilken|vilka|what|which)\s+(?:\w+\s+)?budget\w*|\bhow much did\b[^?]*\bpa(?:y|id)\b",
    re.IGNORECASE,
)
_MONEY = re.compile(
    r"\b(?:kr|kronor|kronorna|mnkr|mkr|tkr|sek|miljon\w*|miljard\w*|million\w*|billion\w*|euro|dollar\w*)\b"
    r"|\d\s*(?:kr|mnkr|mkr|tkr)\b",
    re.IGNORECASE,
)


_PAY_QUESTION = re.compile(
    r"\b(?:how (?:large|big|high|much)|hur (?:stor\w*|hög\w*|mycket))\b.*"
    r"\b(?:pay|salary|salaries|wages?|lön\w*)"
    # "What is the starting salary …?", "Vilken lön får …?", "Vad är ingångslönen …?"
    r"|\bwhat (?:is|was|are|were) the\s+(?:\w+\s+){0,2}(?:pay|salary|salaries|wages?)\b"
    r"|\b(?:vilken|vad är|vad var)\s+(?:\w+\s+){0,2}(?:\w*lön(?:en|er|erna)?|ingångslön\w*|medellön\w*)\b",
    re.IGNORECASE,
)
_PERCENT = re.compile(r"%|\b(?:procent\w*|percent\w*|per cent)\b", re.IGNORECASE)


def asks_for_pay(question: str) -> bool:
    """How large a pay rise is: a sum or a percentage answers it, a head count does not."""
    return bool(_PAY_QUESTION.search(question))


def asks_for_money(question: str) -> bool:
    """A question about what was spent or set aside wants a sum of money, not a head count."""
    return bool(_MONEY_QUESTION.search(question) or _COST_QUESTION.search(question))


def years_in(text: str) -> set[str]:
    return set(re.findall(r"\b(?:19|20)\d\d\b", text))


_SWEDISH_MONTHS = (
    "januari februari mars april maj juni juli augusti september oktober november december".split()
)
_ENGLISH_MONTHS = (
    "January February March April May June July August September October November December".split()
)
_MONTH = {name.lower(): n for names in (_SWEDISH_MONTHS, _ENGLISH_MONTHS) for n, name in enumerate(names, 1)}
# Swedish names in any case; English ones capitalized, and "May" only before a day or year ("may" is a verb)
_NAMED_MONTH = re.compile(
    r"\b(?i:" + "|".join(_SWEDISH_MONTHS) + r")\b"
    r"|\b(?:" + "|".join(m for m in _ENGLISH_MONTHS if m != "May") + r")\b|\bMay(?=\s+\d)"
)


def genitive_base(word: str) -> str:
    """The name a Swedish genitive is made of ("Pilsäters" -> "Pilsäter", "Stockholms" -> "Stockholm"),
    or "" for a word too short or without the s to be one."""
    return word[:-1] if word.endswith("s") and len(word) > 4 else ""


# English names of the Swedish parties: the records sign with "(S)" or say "Socialdemokraterna",
# so "Social Democrat Maria Stenberg" is checked against the party, not for the word "Democrat"
_ENGLISH_PARTIES = [
    (re.compile(rf"\b(?:{pattern})\b"), code)
    for pattern, code in (
        (r"Social\s+Democrat(?:s|ic\s+Party)?", "S"),
        (r"Christian\s+Democrat(?:s|ic\s+Party)?", "KD"),
        (r"Sweden\s+Democrats?", "SD"),
        (r"Left\s+Party", "V"),
        (r"Green\s+Party|Greens", "MP"),
        (r"Cent(?:re|er)\s+Party", "C"),
        (r"Liberal(?:s|\s+Party)?|People's\s+Party", "L"),
        (r"Moderate(?:s|\s+Party)?|Conservatives?", "M"),
    )
]
# Swedish ones as a question words them ("Vänsterpartiets interpellation", "vänsterpartister",
# "moderaternas skrivelse"); not the adjectives "moderat" and "liberal"
_SWEDISH_PARTIES = [
    (re.compile(rf"\b(?:{pattern})", re.IGNORECASE), code)
    for pattern, code in (
        (r"vänsterparti", "V"),
        (r"socialdemokrat", "S"),
        (r"kristdemokrat", "KD"),
        (r"sverigedemokrat", "SD"),
        (r"miljöparti", "MP"),
        (r"centerparti", "C"),
        (r"folkparti|liberalerna|liberalernas\b", "L"),
        (r"moderaterna|moderaternas\b|moderater\b|moderaters\b", "M"),
    )
]
PARTY_TAG = re.compile(r"\((S|M|V|C|L|KD|MP|SD|FP)\)")  # a signature's "(V)"


def english_parties(question: str) -> list[tuple[str, str]]:
    """The English party names of ``question`` with their codes ("Left Party" -> "V")."""
    return [(m.group(0), code) for pattern, code in _ENGLISH_PARTIES for m in pattern.finditer(question)]


def english_party_words(question: str) -> set[str]:
    """The words of the English party names in ``question`` ("Social", "Democrat"): no names to look for."""
    return {word for name, _ in english_parties(question) for word in name.split()}


def parties_named(question: str) -> set[str]:
    """The parties a question names, as the records' codes: "the Moderate/Liberal letter" -> {"M", "L"}.

    A party names a record as an author does ("Vänsterpartiets interpellation
    om …"), and its signature "(V)" is in the record's metadata, not in most of
    its passages.
    """
    codes = {code for _, code in english_parties(question)}
    codes |= {code for pattern, code in _SWEDISH_PARTIES if pattern.search(question)}
    codes |= {"L" if tag == "FP" else tag for tag in PARTY_TAG.findall(question)}
    return codes


def months_in(text: str) -> set[int]:
    """The calendar months ``text`` names (1-12), Swedish or English: "i augusti" and "in August" agree."""
    return {_MONTH[m.lower()] for m in _NAMED_MONTH.findall(text)}


_MONTH_YEAR = re.compile(rf"({_NAMED_MONTH.pattern})\s+((?:19|20)\d\d)\b")


def month_years_in(text: str) -> set[str]:
    """Each month named with its year, as a record's date begins ("in March 2008" -> "2008-03")."""
    return {f"{year}-{_MONTH[name.lower()]:02d}" for name, year in _MONTH_YEAR.findall(text)}


_HOW_LONG = re.compile(r"\bhow long\b|\bhur (?:länge|lång tid)\b", re.IGNORECASE)
_END_POINT = re.compile(
    r"\b(?:till och med|t\.\s?o\.\s?m\.|fram till|till år|until|through)\s+(?:år\s+)?(?:19|20)\d\d\b",
    re.IGNORECASE,
)


def states_quantity(text: str, question: str = "") -> bool:
    """Whether ``text`` gives a figure other than a year, a date, a document
    number or one the question itself names.

    Asked how long, an end point is a figure too: "how long was the plan to
    run?" is answered by "förlängas till och med år 2021".
    """
    if question and _HOW_LONG.search(question) and _END_POINT.search(text):
        return True
    named = {m.group(0).replace(" ", "") for m in NUMBER.finditer(question)}
    text = _NOT_A_FIGURE.sub(" ", text)
    for match in NUMBER.finditer(text):
        number = match.group(0).replace(" ", "")
        if number not in named and not _YEAR.fullmatch(number):
            return True
    return any(w in _QUANTITY_WORDS for w in re.findall(r"\w+", text.casefold()))


# "how many" counts people or things; a share ("2 procent", "68 %") answers "how large a share"
_HEAD_COUNT = re.compile(r"\b(?:how\s+many|hur\s+många)\b(?!\s+(?:procent|percent))", re.IGNORECASE)
_A_SHARE = re.compile(r"[\d,.\s]*\d\s*(?:%|procent\w*|percent\w*|per cent)", re.IGNORECASE)


# a waiting or handling time asked for is answered by a length of time, not by any count
_WAITING_ASKED = re.compile(
    r"\b(?:waiting\s+times?|wait(?:ing)?\s+(?:period|list)s?|processing\s+times?|queue\s+times?"
    r"|väntetid\w*|kötid\w*|handläggningstid\w*)",
    re.IGNORECASE,
)
_DURATION = re.compile(
    r"\d\s*(?:-\s*\d+\s*)?(?:dag|dygn|vecka|veckor|månad|timm|minut|år\b|days?\b|weeks?\b|months?\b"
    r"|hours?\b|minutes?\b|years?\b)",
    re.IGNORECASE,
)


_SO_FAR = re.compile(
    r"\b(?:so far|to date|until now|this year|hittills|hitintills|än så länge|i år"
    r"|first (?:few |\w+ )?months|första (?:\w+ )?månaderna|i början av|early in)\b",
    re.IGNORECASE,
)


def figure_fits(text: str, question: str, record_year: str = "", context: str = "") -> bool:
    """Whether ``text`` gives a figure of the kind and year asked about.

    "How much was spent" is not answered by a head count, and "how many in
    2026" not by a sentence whose figures are about 2024: a sentence that
    names years must name one the question names. A year that dates the record
    ("according to her 2008 interpellation") names the record, not the figure,
    unless the question asks how things stand "so far": "hittills under 2026",
    in a record of 2026, asks for 2026, and a figure that neither it nor its
    passage dates must say "hittills" itself. A sentence that names no year
    takes the years of its ``context`` (the passage); when neither names one,
    a record written before the year asked about cannot give its figure (a
    forecast names the year it is for).
    """
    if not states_quantity(text, question):
        return False
    if asks_for_money(question) and not _MONEY.search(text):
        return False
    if asks_for_pay(question) and not (_MONEY.search(text) or _PERCENT.search(text)):
        return False
    if (
        _PERCENT.search(text)
        and _HEAD_COUNT.search(question)
        and not _PERCENT.search(question)
        and not states_quantity(_A_SHARE.sub(" ", text), question)
    ):
        return False  # "how many officers were there" is not answered by "2 procent av polisinsatsen"
    if _WAITING_ASKED.search(question) and not _DURATION.search(text):
        return False  # "average waiting time in 2023" is not answered by 29 job advertisements in 2023
    so_far = _SO_FAR.search(question) is not None
    # the record's own year names the record, unless the question says the figure is of that year
    record = set() if so_far else years_in(record_year) - years_of_figure(question)
    asked = years_in(question) - record
    stated = years_in(_NOT_A_FIGURE.sub(" ", text)) or years_in(_NOT_A_FIGURE.sub(" ", context))
    if so_far and asked and not stated:
        return _SO_FAR.search(text) is not None  # "Hittills har 9 slutat", not a count of no stated time
    if asked and not stated and _predates(record_year, asked):
        return False  # a record of 1999 counts no student rooms of 2019, whatever year it leaves unsaid
    return not (asked and stated and not asked & stated)


# "under 2010", "in 2021", "i juni 2014": the year a figure is for, not a year that names the record
# ("her 2008 interpellation", "Monica Green 2010", "interpellationen från 2015")
_FIGURE_YEAR = re.compile(
    rf"\b(?:under|i|in|during|för|for|år)\s+(?:(?:{_MONTHS})\s+)?((?:19|20)\d\d)\b"
    r"(?!\W+(?:\w+\W+)?(?:interpellation|skrivelse|motion|debat|letter|svar|answer))",
    re.IGNORECASE,
)


def years_of_figure(question: str) -> set[str]:
    """The years the question asks a figure for, told by a preposition of time before them."""
    return {m.group(1) for m in _FIGURE_YEAR.finditer(question)}


def _predates(record_year: str, years: set[str]) -> bool:
    """The record was written before every year asked about, so it cannot have counted them."""
    written = year_of(record_year)
    return written is not None and all(written < int(year) for year in years)


def year_of(date: str) -> int | None:
    """The year a record's date begins with ("2014-06-13" -> 2014), or None when it is undated."""
    return int(date[:4]) if date[:4].isdigit() else None


# "What is the name of the head of …", "Vad heter chefen för …" ask who, in other words; not "what
# is the name of the report"
_NAME_OF_SOMEONE = (
    r"what(?:\s+is|\s+was|'s)\s+the\s+name\s+of\s+the\s+(?:\w+\s+){0,4}"
    r"(?:head|chair\w*|chief|manager|director|minister|secretary|leader|person|official)"
    r"|vad\s+(?:heter|hette)\s+(?:\w+\s+){0,2}(?:chef\w*|ordförande\w*|minist\w*|direktör\w*|ledare\w*|person\w*)"
)
# "who" asks only where a clause begins ("Who answered …", "…, and who signed them?", "to whom");
# after a noun it is a relative pronoun ("the children who arrived") and asks nothing
_PEOPLE_QUESTION = re.compile(
    r"(?:^\W*|[,;:]\s*|\b(?:and|or|but|to|by|from|with|for)\s+)(?:who|whom|whose)\b"
    rf"|\b(?:{_NAME_OF_SOMEONE}|which (?:minister|party|councillor|politician|member)\w*"
    r"|vem|vilka (?:politiker|ledam|borgarråd|statsråd|minist|parti|person)\w*"
    r"|vilken (?:minister|politiker|ledamot|parti)\w*|vilket parti|till vilket statsråd"
    # a party's members: "Vilka vänsterpartister har interpellerat …", "Which Left Party MPs …"
    r"|vilk(?:a|en) (?:vänsterpartist|socialdemokrat|moderat|liberal|kristdemokrat|sverigedemokrat"
    r"|miljöpartist|centerpartist|folkpartist)(?:er(?:na)?)?"
    r"|which (?:[A-Z][\w-]*\s+){1,2}(?:MPs?|members?|politicians?|councill?ors?)\b)\b",
    re.IGNORECASE,
)


_AUTHORS_QUESTION = re.compile(
    r"\b(?:who (?:wrote|signed|is behind|are behind|stands? behind)|(?:written|signed) by"
    r"|vem (?:skrev|har skrivit)|står bakom|undertecknade?|författa\w*)\b",
    re.IGNORECASE,
)


def asks_for_authors(question: str) -> bool:
    """Asked who wrote or signed a record: its closing signature is then the answer."""
    return bool(_AUTHORS_QUESTION.search(question))


_WHO = re.compile(rf"\b(?:who|whom|whose|vem|vems|{_NAME_OF_SOMEONE})\b", re.IGNORECASE)


def asks_who(question: str) -> bool:
    """Asks for a person ("vem", "who"), not which office, party or minister ("vilka borgarråd")."""
    return bool(_WHO.search(question))


def asks_for_people(question: str) -> bool:
    """Asked who wrote, to whom or which party, the record's heading is the answer, not mere context."""
    return bool(_PEOPLE_QUESTION.search(question))


_FACTOID_QUESTION = re.compile(
    r"^\W*(?:who|whom|whose|(?:since |from |until )?when|which|how (?:many|much|large|big|long|high|often)"
    r"|what (?:share|proportion|percentage|number|amount|year|date)"
    r"|vem|vilk(?:en|et|a)|(?:sedan |från |till )?när"
    r"|hur (?:många|mycket|stor[at]?|lång[at]?|hög[at]?|ofta)|vilken andel)\b",
    re.IGNORECASE,
)
# where a question's next part begins ("…, and why?", "… och hur många …?"), and the words that ask
_PART_START = r"(?:,|\band\b|\boch\b)\s+"
_ASKING_WORD = r"(?:what|how|which|who|when|why|where|vad|hur|vilk\w*|vem|när|varför|var)\b"
_COMPARISON = re.compile(r"\b(?:compared|jämfört|respektive)\b", re.IGNORECASE)
_NEXT_PART = re.compile(_PART_START + r"(?=" + _ASKING_WORD + r")", re.IGNORECASE)
_ASKS = re.compile(r"\b" + _ASKING_WORD, re.IGNORECASE)


def question_parts(question: str) -> list[str]:
    """The parts of a question that each ask something ("how many left", "and why?").

    A leading clause that asks nothing belongs to the part after it: "In the
    June 2014 debate, how much per year …" is one question about a figure.
    """
    parts = _NEXT_PART.split(question)
    while len(parts) > 1 and not _ASKS.search(parts[0]):
        parts[:2] = [f"{parts[0]}, {parts[1]}"]
    return parts


_ATTRIBUTION = re.compile(
    r"\b(?:according to|as argued by|enligt(?!\s+(?:lex\b|\w*lag(?:en)?\b|LSS\b|SoL\b|LVU\b|LVM\b|§|\d)))"
    r"(?:(?!" + _NEXT_PART.pattern + r")[^,?])*",  # to a comma, "?" or the next part
    re.IGNORECASE,
)


def attributions(question: str) -> list[str]:
    """The phrases saying whose word the question asks for ("according to Morgan Johansson's interpellation").

    They choose the record, not the sentence in it that answers. Swedish
    "enligt" before a law ("enligt lex Sarah", "enligt socialtjänstlagen")
    says what the question is about, so it does not count.
    """
    return [m.group(0).rstrip() for m in _ATTRIBUTION.finditer(question)]


_HOW_MANY = re.compile(r"\b(?:hur (?:många|mycket)|how (?:many|much))\b", re.IGNORECASE)


def without_how_many(question: str) -> str:
    """The question less its "hur många" / "how much": words that ask for a figure, not what is counted.

    "många" is an index term, so in "Hur många socialsekreterare slutade 2024?"
    it counted as a term the answer should hold, beside "slutade"; the
    sentence giving the figure never says "många".
    """
    return _HOW_MANY.sub(" ", question)


# what "how many" counts: up to three words after it, before "and", "som" or a figure ("how many of
# Stockholm's district councils", "hur många socialsekreterare slutade")
_COUNTED = re.compile(
    r"\b(?:how\s+many|hur\s+många)\s+(?:(?:of|av)\s+)?(?:(?:the|de)\s+)?"
    r"((?:(?!and\b|och\b|or\b|eller\b|som\b|that\b|who\b)[^\W\d_][\w'’-]*\s*){1,3})",
    re.IGNORECASE,
)


# "… och hur många av dem stannade kvar?": a part of what the first part counted, said another way
_COUNTS_THOSE = re.compile(r"\b(?:how\s+many\s+of\s+(?:them|those)|hur\s+många\s+av\s+dem)\b", re.IGNORECASE)


def counted_phrases(question: str) -> list[str]:
    """What each "how many" of the question counts, when every part asks only how many.

    "Hur många socialsekreterare slutade 2024?" counts "socialsekreterare
    slutade"; the verb may help ("antalet som slutade var 14"). A share, a
    sum or a length asked beside it is a figure of another kind, and "how many
    of those" a part of a count said in other words ("12 stycken har bytt
    tjänst"), so then nothing is returned.
    """
    parts = question_parts(question)
    if not all(_HEAD_COUNT.search(part) for part in parts) or _COUNTS_THOSE.search(question):
        return []
    return [m.group(1).strip() for m in _COUNTED.finditer(question)]


_CARDINALS = frozenset(
    (
        "två tre fyra fem sex sju åtta nio tio elva tolv tretton fjorton femton sexton sjutton arton nitton "
        "tjugo trettio fyrtio femtio sextio sjuttio åttio nittio hundra tusen two three four five six seven "
        "eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty "
        "thirty forty fifty sixty seventy eighty ninety hundred thousand"
    ).split()
)


def counted_by_figures(text: str) -> list[str]:
    """The words that each figure of ``text`` can count: the two after it ("fjorton
    stadsdelsnämnder", "21 stycken som slutat" gives "stycken som") and the six before it
    ("antalet placerade barn var 1 200").

    Years, dates and document numbers count nothing.
    """
    tokens = re.findall(r"[\w-]+", _NOT_A_FIGURE.sub(" . ", text).casefold())
    counted = []
    for i, token in enumerate(tokens):
        if (token.isdigit() and not _YEAR.fullmatch(token)) or token in _CARDINALS:
            counted.append(" ".join(tokens[max(0, i - 6) : i] + tokens[i + 1 : i + 3]))
    return counted


def asks_only_for_figures(question: str) -> bool:
    """Every part asks how many, how much or what share ("how many left, and how many were girls?").

    Not "how many left, and why?": the reason is a sentence without a figure.
    """
    return all(asks_for_quantity(part) for part in question_parts(question))


def asks_only_for_dates(question: str) -> bool:
    """Every part asks when ("When was it adopted, and when was it revised?"), not "when, and why?"."""
    return all(asks_for_date(part) for part in question_parts(question))


def asks_only_for_people(question: str) -> bool:
    """Every part asks who, to whom or which party ("who wrote it, and to whom?"), not "who, and why?"."""
    return all(asks_for_people(part) or asks_for_authors(part) for part in question_parts(question))


_RECORD = re.compile(
    r"\b(?:interpellation(?:en)?|skrivelse(?:n)?|motion(?:en)?|letter|svaret|answer)\b", re.IGNORECASE
)
_RECORDS = re.compile(
    r"\b(?:interpellations|interpellationerna|skrivelserna|letters|records|handlingarna|these|dessa)\b",
    re.IGNORECASE,
)


def names_one_record(question: str) -> bool:
    """The question is about one record ("Who wrote the 2001 interpellation on women's health?").

    Not "the Kumla interpellation and Clara Lindblom's", nor "which of these records".
    """
    return len(_RECORD.findall(question)) == 1 and not _RECORDS.search(question)


_WHY = re.compile(
    r"\b(?:why|varför|how come|what (?:reasons?|explains?)|vilka skäl|vilket skäl|av vilken anledning)\b",
    re.IGNORECASE,
)
# the words a reason comes with: "eftersom", "därför att", "till följd av", "anledningen till … är att"
_CAUSE = re.compile(
    r"\b(?:eftersom|därför att|på grund av|till följd av|med anledning av|beror på|orsake[nr]|orsaker(?:na)?"
    r"|anledning(?:en|ar|arna)?|skäl(?:et|en)?|leder till|vilket innebär|because|due to|the reason)\b",
    re.IGNORECASE,
)


def asks_why(question: str) -> bool:
    """Asks for a reason ("why", "varför", "av vilken anledning")."""
    return bool(_WHY.search(question))


def gives_reason(text: str) -> bool:
    """The sentence states a cause or a reason in so many words ("eftersom …", "till följd av …")."""
    return bool(_CAUSE.search(text))


def has_several_parts(question: str) -> bool:
    """A question in two parts ("compared with", "and why?") is answered from more than one place."""
    return len(question_parts(question)) > 1 or bool(_COMPARISON.search(question))


def asks_for_one_fact(question: str) -> bool:
    """A figure, a name or a date takes a sentence or two; measures, reasons and two-part questions more."""
    return bool(_FACTOID_QUESTION.search(question)) and not has_several_parts(question)


_ASKS_WHAT_WAS_DONE = re.compile(
    r"\b(?:what (?:measures|actions|steps)\b[^?]*\b(?:promised|taken|planned)"
    r"|what (?:has|have|is|are|was|were) (?:been |being )?done"
    r"|vad (?:har|hade) (?:gjorts|man gjort)|vad görs|vad gjordes"
    r"|vilka åtgärder (?:har|hade|vidtas|vidtogs|lovades|utlovades))",
    re.IGNORECASE,
)


def asks_what_was_done(question: str) -> bool:
    """Asked what was done or promised: those who answer did it, not those who asked for it."""
    return bool(_ASKS_WHAT_WAS_DONE.search(question))


# "when" asks at the start of a question or of its second part; "When she raised it, where …?" asks where
_ASKS_FOR_DATE = re.compile(
    r"^\W*(?:(?:since|from|until) )?when\b(?![^?]*,\s*(?:what|where|who|whom|how|which|why)\b)"
    r"|^\W*(?:(?:sedan|från|till) )?när\b(?![^?]*,\s*(?:vad|var|vem|hur|vilk\w*|varför)\b)"
    # "…, and when?", "… och när …": after a bare comma, "när hon i mars 2013 frågade" only dates the record
    r"|\b(?:and|och)\s+(?:when|när)\b|,\s*(?:when|när)\s*[?,]"
    r"|\b(?:what|which) (?:date|year|month|day)\b|\bvilket (?:datum|år)\b|\bvilken (?:månad|dag)\b",
    re.IGNORECASE,
)
_DATE = re.compile(
    rf"\b(?:19|20)\d\d\b|\b(?:{_MONTHS}|maj)\b|\b\d{{1,2}}/\d{{1,2}}\b"
    r"|\b(?:vår|sommar|höst|vinter)(?:en)?\b|\b(?:spring|summer|autumn|fall|winter) of\b"
    r"|\bvecka \d+|\b(?:i dag|idag|i går|igår|i år|i fjol|förra året|nästa år|today|yesterday|last year)\b",
    re.IGNORECASE,
)


def asks_for_date(question: str) -> bool:
    """Asked when: a passage that names no year, month or season does not answer."""
    return bool(_ASKS_FOR_DATE.search(question))


def states_date(text: str) -> bool:
    """Whether ``text`` names a year, a month, a season or a day ("i november", "hösten 2024", "12/5")."""
    return bool(_DATE.search(text))


_ASKS_FOR_PLACE = re.compile(
    r"\b(?:which (?:municipalit(?:y|ies)|cit(?:y|ies)|towns?)|what municipality"
    r"|vilken (?:kommun|stad)|vilka (?:kommuner|städer))\b",
    re.IGNORECASE,
)


def asks_for_place(question: str) -> bool:
    """Asked which municipality or city: a passage that names none does not answer."""
    return bool(_ASKS_FOR_PLACE.search(question))


_ASKS_FOR_FIRM = re.compile(
    r"\b(?:(?:which|what)\s+(?:\w+\s+)?(?:firms?|compan(?:y|ies)|businesses)"
    r"|vilk(?:et|a)\s+(?:\w+\s+)?\w*(?:företag|bolag)(?:en)?)\b",
    re.IGNORECASE,
)
# a name within a sentence: a capitalised word after its first ("drivs av bolaget Carema"), acronyms
# ("KPMG`s granskning") included; each sentence's first word is taken out before looking
_NAMED_WITHIN = re.compile(r"\b[A-ZÅÄÖÉ][\w&-]+")
_FIRST_WORDS = re.compile(r"(^|[.!?:]\s+|\n\s*)[\w-]+")


def asks_for_firm(question: str) -> bool:
    """Asked which firm or company ("Which audit firm …", "Vilket företag drev …")."""
    return bool(_ASKS_FOR_FIRM.search(question))


def names_something(text: str) -> bool:
    """Whether the text names a firm, a body or anyone: a capitalised word after its first, or an acronym."""
    return bool(_NAMED_WITHIN.search(_FIRST_WORDS.sub(r"\1", text.strip())))


_ASKS_FOR_RESULT = re.compile(
    r"\b(?:what did\b[^?]*\b(?:show|find|found|conclude|reveal)"
    r"|what (?:was|were) the (?:result|finding|conclusion)s?"
    r"|vad (?:visade|kom\b[^?]*\bfram till|framkom)|vilka slutsatser|vad blev resultatet)\b",
    re.IGNORECASE,
)
_NOT_YET = re.compile(
    r"\b(?:ska|skall|kommer att|planeras|planerar|avser|pågår|påbörja\w*"
    r"|har\b(?:\s+\w+){0,2}\s+uppdrag(?:et)? att|will|is to|are to|is being|plans? to)\b",
    re.IGNORECASE,
)


def asks_for_result(question: str) -> bool:
    """A question after what an analysis or a report showed: a plan to make one is no answer."""
    return bool(_ASKS_FOR_RESULT.search(question))


# what a finding comes from, by its Swedish stem and the words a question may use for it
_STUDIES = {
    "analys": ("analys", "analysis", "analyses"),
    "granskning": ("granskning", "review", "audit", "inspection"),
    "rapport": ("rapport", "report"),
    "utredning": ("utredning", "inquiry", "investigation"),
    "undersökning": ("undersökning", "study", "studie"),
    "enkät": ("enkät", "survey", "questionnaire"),
    "kartläggning": ("kartläggning", "mapping"),
    "utvärdering": ("utvärdering", "evaluation"),
    "uppföljning": ("uppföljning", "follow-up", "followup"),
}


def studies_asked(question: str) -> set[str]:
    """The Swedish stems of the studies a question asks the findings of ("analysis" -> "analys")."""
    words = re.findall(r"[\w-]+", question.casefold())
    return {stem for stem, names in _STUDIES.items() if any(w.startswith(names) for w in words)}


def studies_reported(question: str) -> set[str]:
    """The studies whose findings the question's asking clause names: "What did the latest follow-up of
    the plan show", "Vad visade uppföljningen", not "what did he find out about a questionnaire"."""
    match = _ASKS_FOR_RESULT.search(question)
    if match is None:
        return set()
    after = " ".join(question[match.end() :].split()[:4])
    return studies_asked(f"{match.group(0)} {after}")


# a finding told in the sentence itself: its "ska" belongs to what was found ("rapporten … visar att
# polis och socialtjänst efterlyser mer kunskap om hur man ska arbeta")
_REPORTS_FINDING = re.compile(
    r"\b(?:visar|visade|har\s+visat|framkom|framkommit|framgår|konstaterar|konstaterade"
    r"|shows|showed|has\s+shown|found)\b",
    re.IGNORECASE,
)


def speaks_of_future(text: str) -> bool:
    """Whether ``text`` tells of something to be done ("ett analysarbete ska ske", "har i uppdrag att")."""
    return bool(_NOT_YET.search(text)) and not _REPORTS_FINDING.search(text)


_NAMED = r"(?:the\s+)?(?-i:[A-ZÅÄÖ][\w-]+(?:\s+[A-ZÅÄÖ][\w-]+)*)(?:\s+\(\w+\))?"  # "Lotta Finstorp (M)"
_ASKS_FOR_REPLY = re.compile(
    r"\b(?:how|what)\s+did\b[^?,;]*\b(?:answer|reply|respond)\b"
    r"|\bwhat\s+was\b[^?,;]*\b(?:answer|reply|response)\b"
    r"|\b(?:vad|hur)\s+svara(?:de|r)?\b|\bvad\s+(?:blev|var)\b[^?]*\bsvar(?:et)?\b"
    # what one person said when another, named, asked: the reply, not the asking
    r"|\b(?:how|what)\s+did\b[^?]*\b(?:say|state)\b[^?]*\bwhen\s+" + _NAMED + r"\s+asked\b"
    r"|\b(?:vad|hur)\s+(?:sa|sade)\b[^?]*\bnär\s+" + _NAMED + r"\s+frågade\b"
    # whether the minister agreed, promised or refused: only a reply can say ("Did Justice Minister
    # Morgan Johansson agree to …?", "Lovade statsrådet att …?")
    r"|\bdid\s+(?:the\s+)?(?:(?!ask|question)[\w-]+\s+){0,3}?minister\b[^?]*?"
    r"\b(?:agree|promise|commit|accept|reject|refuse|rule\s+out)"
    r"|\b(?:lovade|accepterade|avvisade|avfärdade|gick)\s+(?:\w+\s+){0,2}?(?:statsrådet|\w*ministern)\b",
    re.IGNORECASE,
)


_NAME_WORDS = r"((?:[A-ZÅÄÖÉ][\w-]+\s+){0,2}[A-ZÅÄÖÉ][\w-]+?)(?:'s|s)?"
# "What did Ulf Kristersson say about …", "Vad sa Eva Olofsson om …": a person's words are asked for
_SAID_BY = re.compile(
    rf"\b(?:[Ww]hat|[Hh]ow)\s+did\s+{_NAME_WORDS}\s+(?:\([^)]*\)\s+)?"
    r"(?:say|said|argue|write|claim|propose|suggest|answer|reply|respond|mean|think|want)\b"
    rf"|\b[Vv]ad\s+(?:sa|sade|skrev|tyckte|menade|föreslog|svarade|ville|hävdade)\s+{_NAME_WORDS}\b",
)


def speaker_asked(question: str) -> str | None:
    """The surname of the person whose words the question asks for, or None.

    Only a full name counts ("Ulf Kristersson", not "she" or "the minister"):
    a first name alone names no one in particular.
    """
    match = _SAID_BY.search(question)
    if match is None:
        return None
    name = (match.group(1) or match.group(2) or "").split()
    return name[-1] if len(name) >= 2 else None


def wants_answer(question: str) -> bool:
    """A question about how the minister answered needs a reply, never the interpellation itself.

    Only when the reply is what is asked for: "which programme did she point
    to in her answer, and what did the report show?" is half answered by the
    interpellation.
    """
    return bool(_ASKS_FOR_REPLY.search(question))


# a question word may follow its preposition: "Inom vilka delar …", "In which areas …"
_PREPOSITION = r"(?:(?:inom|om|på|för|i|av|från|till|med|in|on|about|for|from|of|within)\s+)?"
_ASKS_FOR_QUESTIONS = re.compile(
    r"^\W*(?:what|which)\s+(?:\w+\s+){0,2}questions?\b"  # not "what share … as a work-environment question"
    # asked whether a record asked something: "Did the Moderates ask what consultants had cost?"
    r"|^\W*(?:did|does|do)\b[^?]*\b(?:ask|asks|want to know)\b|^\W*(?:frågade|frågar|undrade|undrar)\b"
    rf"|^\W*{_PREPOSITION}(?:what|which)\b.*\b(?:ask(?:s|ed)?|wants? to know|wanted to know"
    r"|wants?\b.*\bto tell|wanted\b.*\bto tell)\b"
    rf"|^\W*{_PREPOSITION}(?:vad|vilka|vilken)\b.*\b(?:frågor(?:na)?|fråga(?:r|de|t)?|undra(?:r|de)|vill(?:e)?\b.*\bveta)\b"
    # what the interpellant wanted the minister to do: an interpellation puts it as its questions
    r"|^\W*(?:what|which|how\s+\w+)\b.*\bwant(?:s|ed)?\s+the\s+(?:[\w-]+\s+){0,3}?(?:minister|government)\s+to\b"
    r"|^\W*(?:vad|vilka|vilken|hur\s+\w+)\b.*\bville\b.*\b(?:statsrådet|ministern|regeringen)\s+(?:skulle|ska)\b",
    re.IGNORECASE,
)


_WANTS_ANSWERS = re.compile(r"\b(?:answer|repl(?:y|ied|ies)|respond|svar)", re.IGNORECASE)


def asks_for_questions(question: str) -> bool:
    """Whether the user wants the records' own questions ("what did she ask?", "vilka frågor ställde hon?").

    Retrieval and the composer put the answers to an interpellation before its
    questions; for this kind of question the questions are the answer. Not so
    for "vad svarade ministern på frågan ...?": a question that mentions the
    answer wants the answer.
    """
    text = question.strip()
    if asks_for_people(re.split(r"[,;]", text)[0]):
        return False  # "Which minister did Lennart Levi ask …?" asks who, and the heading answers
    asks = _ASKS_FOR_QUESTIONS.search(text) is not None or _wants_someone_to(text)
    return asks and not _WANTS_ANSWERS.search(text)


# "vilka frågor ställde hon", "what did she ask", "what did he want to know", "want the chair to tell
# them": the asking itself is asked for; "vad ville X att man skulle göra" asks what X wanted, which
# statements say too ("bör")
_ASKING = re.compile(
    r"\b(?:fråg\w*|undr\w*|ask\w*|questions?|know|veta|tell|berätta|redovisa|explain|förklara)\b",
    re.IGNORECASE,
)


def asks_about_asking(question: str) -> bool:
    """Whether the question asks what was asked, not only what someone wanted done."""
    return _ASKING.search(question) is not None


_QUESTION_WORD = re.compile(r"\W*(?:vad|vilka|vilken|hur\s+\w+)\b", re.IGNORECASE)
_WANTED = re.compile(r"\bville\s+(\w+)", re.IGNORECASE)
_MINISTER = re.compile(r"statsrådet|\w*ministern|regeringen", re.IGNORECASE)
_THAT_THEY_SHOULD = re.compile(r"\batt\b[^?]*?\b(?:skulle|ska)\b", re.IGNORECASE)


def _wants_someone_to(question: str) -> bool:
    """ "Hur ofta ville Amineh Kakabaveh att arbetsgivarna skulle …": what the interpellant wanted
    anyone to do, the interpellation asks; not what the minister wanted ("Vad ville ministern att …").
    One scan each, not a pattern of three open gaps, which took 0.2 s on 2,000 characters."""
    wanted = _WANTED.search(question) if _QUESTION_WORD.match(question) else None
    if wanted is None or _MINISTER.fullmatch(wanted.group(1)):
        return False
    return _THAT_THEY_SHOULD.search(question, wanted.end()) is not None


# a follow-up opens as a continuation ("och i Stockholm?", "what about 2023?") or points back at
# someone named before ("vad sa hon?"); "det" and "it" are left out: "fanns det", "is it" ask anew.
# Pronouns in lower case only, or first: "Hans Karlsson" is a name.
_CONTINUES = re.compile(
    r"^\W*(?:och|samt|men|eller|också|även|and|but|or|also|what about|how about|hur är det med"
    r"|hur var det med|vad gäller)\b",
    re.IGNORECASE,
)
_PRONOUNS = "hon|han|henne|honom|hennes|hans|hen|deras|dem|she|he|her|him|his|they|them|their"
_POINTS_BACK = re.compile(rf"\b(?:{_PRONOUNS})\b|^\W*(?:{_PRONOUNS.title()})\b")


def follows_on(question: str) -> bool:
    """Whether the question continues the one before it in so many words (``answer.retrieval_query``)."""
    return bool(_CONTINUES.search(question) or _POINTS_BACK.search(question))


# Longest question taken (characters), by the API, the chat, `ask` and gold files alike: a council
# question fits in a few hundred; far longer input is a paste gone wrong or an attempt to tie up a core.
MAX_QUESTION = 2000


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_lone_surrogates(text: str) -> str:
    """``text`` with each lone UTF-16 surrogate replaced by U+FFFD.

    Browsers send them as valid JSON from damaged pasted text, and a terminal
    in another encoding passes them in argv: the tokenizer then refused the
    question, and a reply echoing one could not be encoded, which broke the
    chat's stream for the rest of the session.
    """
    return _LONE_SURROGATE.sub("\ufffd", text)


def holds_words(question: str) -> bool:
    """Whether the question has a letter or digit: "???", "😀" or a zero-width space ask nothing."""
    return any(ch.isalnum() for ch in question)
