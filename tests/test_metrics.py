"""Every metric against numbers worked out by hand, so a refactor cannot quietly change a definition."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.metrics import (
    SUMMARY_KEYS,
    QuestionResult,
    Span,
    citation_precision,
    citation_recall,
    evaluate_question,
    fact_recall,
    hit_at_k,
    ndcg_at_k,
    overlaps,
    percentile,
    reciprocal_rank,
    summarize,
    summarize_by_language,
    to_json,
)

GOLD = Span("gold.txt", 100, 200)
LOG2_3 = math.log2(3)


def noise(n: int) -> list[Span]:
    """Chunks of an unrelated document: they never find anything."""
    return [Span("other.txt", i * 10, i * 10 + 10) for i in range(n)]


def ranked_with_gold_at(rank: int | None, length: int = 10) -> list[Span]:
    """A ranked list of ``length`` chunks where only the chunk at ``rank`` (1-based) finds GOLD."""
    ranked = noise(length)
    if rank is not None:
        ranked[rank - 1] = Span("gold.txt", 150, 250)
    return ranked


# --- overlap -----------------------------------------------------------------------------------------


def test_overlap_by_one_character_counts() -> None:
    assert overlaps(Span("d", 0, 5), Span("d", 4, 10))
    assert overlaps(Span("d", 4, 10), Span("d", 0, 5))


def test_touching_spans_do_not_overlap() -> None:
    assert not overlaps(Span("d", 0, 5), Span("d", 5, 10))
    assert not overlaps(Span("d", 5, 10), Span("d", 0, 5))


def test_containment_overlaps_and_other_documents_never_do() -> None:
    assert overlaps(Span("d", 0, 100), Span("d", 40, 50))
    assert not overlaps(Span("d", 0, 100), Span("e", 0, 100))


def test_reversed_or_negative_span_is_rejected() -> None:
    with pytest.raises(ValueError):
        Span("d", 10, 5)
    with pytest.raises(ValueError):
        Span("d", -1, 5)


def test_span_of_reads_any_object_with_doc_id_start_end() -> None:
    class Chunkish:
        doc_id, start, end = "d", 3, 9

    assert Span.of(Chunkish()) == Span("d", 3, 9)


# --- retrieval: one gold source ------------------------------------------------------------------------


def test_single_gold_at_rank_1() -> None:
    ranked = ranked_with_gold_at(1)
    assert [hit_at_k(ranked, [GOLD], k) for k in (1, 3, 5, 10)] == [1.0, 1.0, 1.0, 1.0]
    assert reciprocal_rank(ranked, [GOLD]) == 1.0
    assert ndcg_at_k(ranked, [GOLD]) == pytest.approx(1.0)


def test_single_gold_at_rank_3() -> None:
    ranked = ranked_with_gold_at(3)
    assert [hit_at_k(ranked, [GOLD], k) for k in (1, 3, 5, 10)] == [0.0, 1.0, 1.0, 1.0]
    assert reciprocal_rank(ranked, [GOLD]) == pytest.approx(1 / 3)
    # DCG = 1/log2(3+1) = 0.5; ideal DCG = 1/log2(2) = 1.
    assert ndcg_at_k(ranked, [GOLD]) == pytest.approx(0.5)


def test_single_gold_at_rank_7() -> None:
    ranked = ranked_with_gold_at(7)
    assert [hit_at_k(ranked, [GOLD], k) for k in (1, 3, 5, 10)] == [0.0, 0.0, 0.0, 1.0]
    assert reciprocal_rank(ranked, [GOLD]) == pytest.approx(1 / 7)
    # DCG = 1/log2(7+1) = 1/3; ideal DCG = 1.
    assert ndcg_at_k(ranked, [GOLD]) == pytest.approx(1 / 3)


def test_single_gold_not_retrieved() -> None:
    ranked = ranked_with_gold_at(None)
    assert [hit_at_k(ranked, [GOLD], k) for k in (1, 3, 5, 10)] == [0.0, 0.0, 0.0, 0.0]
    assert reciprocal_rank(ranked, [GOLD]) == 0.0
    assert ndcg_at_k(ranked, [GOLD]) == 0.0


def test_gold_below_the_cutoff_does_not_count() -> None:
    ranked = ranked_with_gold_at(11, length=12)
    assert hit_at_k(ranked, [GOLD], 10) == 0.0
    assert reciprocal_rank(ranked, [GOLD]) == 0.0
    assert ndcg_at_k(ranked, [GOLD]) == 0.0


def test_empty_ranking_scores_zero() -> None:
    assert hit_at_k([], [GOLD], 5) == 0.0
    assert reciprocal_rank([], [GOLD]) == 0.0
    assert ndcg_at_k([], [GOLD]) == 0.0


def test_k_below_one_is_an_error() -> None:
    with pytest.raises(ValueError):
        hit_at_k([GOLD], [GOLD], 0)
    with pytest.raises(ValueError):
        ndcg_at_k([GOLD], [GOLD], 0)


def test_no_gold_source_gives_none_everywhere() -> None:
    ranked = noise(10)
    assert hit_at_k(ranked, [], 5) is None
    assert reciprocal_rank(ranked, []) is None
    assert ndcg_at_k(ranked, []) is None
    assert citation_precision(ranked, []) is None
    assert citation_recall(ranked, []) is None


# --- retrieval: several gold sources -------------------------------------------------------------------

A = Span("a.txt", 0, 100)
B = Span("b.txt", 0, 100)


def test_two_golds_found_at_ranks_1_and_3() -> None:
    ranked = [A, *noise(1), B, *noise(7)]
    # DCG = 1/log2(2) + 1/log2(4) = 1 + 0.5 = 1.5
    # ideal DCG (2 golds at ranks 1, 2) = 1 + 1/log2(3) = 1.6309...
    # nDCG = 1.5 / 1.6309 = 0.91972...
    assert ndcg_at_k(ranked, [A, B]) == pytest.approx(1.5 / (1 + 1 / LOG2_3))
    assert ndcg_at_k(ranked, [A, B]) == pytest.approx(0.91972, abs=1e-5)
    assert reciprocal_rank(ranked, [A, B]) == 1.0
    assert hit_at_k(ranked, [A, B], 1) == 1.0


def test_duplicate_chunks_credit_a_gold_source_once() -> None:
    # Ranks 1 and 2 both find A (two overlapping chunks of one paragraph); rank 3 finds B.
    ranked = [Span("a.txt", 0, 50), Span("a.txt", 40, 90), B]
    # DCG = 1 + 0 + 1/log2(4) = 1.5, not 1 + 1/log2(3) + 0.5, which would beat the ideal.
    assert ndcg_at_k(ranked, [A, B]) == pytest.approx(1.5 / (1 + 1 / LOG2_3))
    # With a single gold source the repeat adds nothing either: DCG = 1 = ideal.
    assert ndcg_at_k(ranked, [A]) == pytest.approx(1.0)


def test_one_chunk_finding_two_golds_gains_once_and_credits_both() -> None:
    near_a, near_b = Span("d.txt", 0, 10), Span("d.txt", 20, 30)
    ranked = [Span("d.txt", 5, 25), Span("d.txt", 20, 30)]
    # Rank 1 finds both (gain 1, both credited); rank 2 finds only B, already credited (gain 0).
    # nDCG = 1 / (1 + 1/log2(3)) = 0.6131...
    assert ndcg_at_k(ranked, [near_a, near_b]) == pytest.approx(1 / (1 + 1 / LOG2_3))


def test_ideal_dcg_is_capped_at_k_gold_sources() -> None:
    golds = [Span("g.txt", i * 10, i * 10 + 10) for i in range(12)]
    assert ndcg_at_k(golds[:10], golds) == pytest.approx(1.0)


def test_a_gold_source_listed_twice_is_one_source() -> None:
    assert ndcg_at_k([A], [A, A]) == pytest.approx(1.0)
    assert citation_recall([A], [A, A]) == 1.0


# --- facts ------------------------------------------------------------------------------------------


def test_fact_matches_any_alternative() -> None:
    recall, matched = fact_recall(
        "Kostnaden blev 14 miljoner.", [["fjorton miljoner", "14 miljoner"], ["2025"]]
    )
    assert matched == [True, False]
    assert recall == 0.5


def test_fact_matching_ignores_case_and_whitespace_layout() -> None:
    answer = "Svaret:  TIO\n  miljoner\tkronor till Socialnämnden."
    recall, matched = fact_recall(answer, [["tio miljoner kronor"], ["  socialnämnden "]])
    assert matched == [True, True]
    assert recall == 1.0


def test_fact_matching_finds_swedish_compounds_and_inflections() -> None:
    _, matched = fact_recall("Personalomsättningen ökade.", [["omsättning"]])
    assert matched == [True]


def test_fact_matching_treats_composed_and_decomposed_letters_alike() -> None:
    decomposed = "na\u0308mnden"  # "nämnden" as PDF extraction often spells it
    _, matched = fact_recall(f"Beslut i {decomposed}.", [["nämnden"]])
    assert matched == [True]


def test_a_bare_string_fact_is_one_alternative_not_its_letters() -> None:
    recall, matched = fact_recall("abc", ["xyz a"])  # iterating the string would match "a"
    assert matched == [False]
    assert recall == 0.0


def test_no_facts_gives_none() -> None:
    assert fact_recall("anything", []) == (None, [])


def test_a_fact_without_usable_alternatives_is_an_error() -> None:
    with pytest.raises(ValueError):
        fact_recall("anything", [["", "   "]])


# --- citations --------------------------------------------------------------------------------------


def test_citation_precision_and_recall() -> None:
    cited = [Span("a.txt", 90, 120), Span("c.txt", 0, 10), Span("b.txt", 100, 150)]  # A, nothing, touching B
    assert citation_precision(cited, [A, B]) == pytest.approx(1 / 3)
    assert citation_recall(cited, [A, B]) == pytest.approx(1 / 2)


def test_no_citations_has_no_precision_and_zero_recall() -> None:
    assert citation_precision([], [A]) is None
    assert citation_recall([], [A]) == 0.0


# --- latency -----------------------------------------------------------------------------------------


def test_percentile_interpolates_linearly() -> None:
    values = [10.0, 40.0, 20.0, 30.0]
    assert percentile(values, 50) == pytest.approx(25.0)
    assert percentile(values, 95) == pytest.approx(38.5)  # 10 + 0.95 * 3 * 10
    assert percentile([7.0], 95) == 7.0


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 50) is None


def test_percentile_outside_0_100_is_an_error() -> None:
    with pytest.raises(ValueError):
        percentile([1.0], 101)


# --- per question ------------------------------------------------------------------------------------


def run(
    id: str,
    language: str,
    *,
    gold: list[Span],
    facts: list[list[str]],
    retrieved: list[Span],
    cited: list[Span],
    answer_text: str,
    abstained: bool,
    retrieval_ms: float,
    answer_ms: float,
) -> QuestionResult:
    return evaluate_question(
        id=id,
        language=language,
        question=f"question {id}?",
        gold=gold,
        facts=facts,
        retrieved=retrieved,
        retrieved_ids=[f"{s.doc_id}:{s.start}" for s in retrieved],
        cited=cited,
        answer_text=answer_text,
        abstained=abstained,
        retrieval_ms=retrieval_ms,
        answer_ms=answer_ms,
    )


def test_evaluate_question_computes_every_metric() -> None:
    r = run(
        "q",
        "sv",
        gold=[GOLD],
        facts=[["tio"], ["elva"]],
        retrieved=ranked_with_gold_at(3),
        cited=[GOLD, Span("x.txt", 0, 5)],
        answer_text="Tio.",
        abstained=False,
        retrieval_ms=12.0,
        answer_ms=30.0,
    )
    assert r.answerable
    assert (r.hit_at_1, r.hit_at_3, r.hit_at_5, r.hit_at_10) == (0.0, 1.0, 1.0, 1.0)
    assert r.rr == pytest.approx(1 / 3)
    assert r.ndcg == pytest.approx(0.5)
    assert r.facts_matched == (True, False)
    assert r.fact_recall == 0.5
    assert r.citation_precision == 0.5
    assert r.citation_recall == 1.0
    assert r.total_ms == pytest.approx(42.0)
    assert r.failure is None


def test_unanswerable_question_has_no_answer_quality_metrics() -> None:
    r = run(
        "u",
        "en",
        gold=[],
        facts=[],
        retrieved=noise(3),
        cited=[A],
        answer_text="x",
        abstained=False,
        retrieval_ms=1,
        answer_ms=1,
    )
    assert not r.answerable
    metrics = (r.hit_at_1, r.hit_at_10, r.rr, r.ndcg, r.fact_recall, r.citation_precision, r.citation_recall)
    assert metrics == (None,) * 7


@pytest.mark.parametrize(
    "answer_text", ["", "Handlingarna besvarar inte den frågan. Möjligen relaterade stycken: x"]
)
def test_an_abstention_has_no_citation_precision_and_answers_no_fact(answer_text: str) -> None:
    """The facts in an abstention's "possibly related" passages are not an answer."""
    r = run(
        "a",
        "sv",
        gold=[A],
        facts=[["x"]],
        retrieved=[A],
        cited=[A],
        answer_text=answer_text,
        abstained=True,
        retrieval_ms=1,
        answer_ms=1,
    )
    assert r.citation_precision is None
    assert r.fact_recall == 0.0


def test_answerable_flag_must_agree_with_gold_sources() -> None:
    common = dict(
        id="q",
        language="sv",
        question="?",
        facts=[],
        retrieved=[],
        retrieved_ids=[],
        cited=[],
        answer_text="",
        abstained=False,
    )
    with pytest.raises(ValueError, match="no gold sources"):
        evaluate_question(gold=[], answerable=True, **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="has gold sources"):
        evaluate_question(gold=[A], answerable=False, **common)  # type: ignore[arg-type]


def test_retrieved_ids_must_match_retrieved_spans() -> None:
    with pytest.raises(ValueError):
        evaluate_question(
            id="q",
            language="sv",
            question="?",
            gold=[A],
            facts=[],
            retrieved=[A],
            retrieved_ids=[],
            cited=[],
            answer_text="",
            abstained=False,
        )


def test_to_json_is_plain_json() -> None:
    r = run(
        "q",
        "sv",
        gold=[A],
        facts=[["x"]],
        retrieved=[A],
        cited=[A],
        answer_text="x",
        abstained=False,
        retrieval_ms=1,
        answer_ms=2,
    )
    data = json.loads(json.dumps(to_json(r), allow_nan=False))
    assert data["gold"] == [{"doc_id": "a.txt", "start": 0, "end": 100}]
    assert data["retrieved_ids"] == ["a.txt:0"]
    assert data["facts"] == [["x"]]
    assert data["facts_matched"] == [True]
    assert data["hit_at_1"] == 1.0 and data["total_ms"] == 3


# --- aggregation --------------------------------------------------------------------------------------


def four_questions() -> list[QuestionResult]:
    """q1-q3 answerable, q4 unanswerable; the expected summary is worked out in the test."""
    return [
        # sv, gold at rank 1, both facts, one on-target citation.
        run(
            "q1",
            "sv",
            gold=[GOLD],
            facts=[["tio"], ["elva"]],
            retrieved=ranked_with_gold_at(1),
            cited=[GOLD],
            answer_text="tio och elva",
            abstained=False,
            retrieval_ms=10,
            answer_ms=100,
        ),
        # en, gold at rank 3, one of two facts, one of two citations on target.
        run(
            "q2",
            "en",
            gold=[GOLD],
            facts=[["ten"], ["eleven"]],
            retrieved=ranked_with_gold_at(3),
            cited=[GOLD, Span("x.txt", 0, 5)],
            answer_text="ten",
            abstained=False,
            retrieval_ms=20,
            answer_ms=200,
        ),
        # sv, gold not retrieved, abstained although answerable.
        run(
            "q3",
            "sv",
            gold=[GOLD],
            facts=[["tolv"]],
            retrieved=ranked_with_gold_at(None),
            cited=[],
            answer_text="Jag hittar inget svar.",
            abstained=True,
            retrieval_ms=30,
            answer_ms=300,
        ),
        # en, unanswerable, but answered (wrongly) with a citation.
        run(
            "q4",
            "en",
            gold=[],
            facts=[],
            retrieved=noise(10),
            cited=[Span("x.txt", 0, 5)],
            answer_text="It was 13.",
            abstained=False,
            retrieval_ms=40,
            answer_ms=400,
        ),
    ]


def test_summarize_four_questions_by_hand() -> None:
    summary = summarize(four_questions())
    assert tuple(summary) == SUMMARY_KEYS
    expected = {
        "n_questions": 4,  # every question, the unanswerable one included
        # Retrieval over q1-q3 only (q4 is skipped, not scored 0): ranks 1, 3, none.
        "hit@1": 1 / 3,
        "hit@3": 2 / 3,
        "hit@5": 2 / 3,
        "hit@10": 2 / 3,
        "mrr@10": (1 + 1 / 3 + 0) / 3,  # 4/9
        "ndcg@10": (1 + 0.5 + 0) / 3,
        "fact_recall": (1 + 0.5 + 0) / 3,
        "citation_precision": (1 + 0.5) / 2,  # q3 abstained and q4 is unanswerable
        "citation_recall": (1 + 1 + 0) / 3,
        "abstention_accuracy": 0.0,  # q4 answered
        "false_abstention_rate": 1 / 3,  # q3
        "retrieval_p50_ms": 25.0,
        "retrieval_p95_ms": 38.5,  # 10 + 0.95 * 3 * 10
        "answer_p50_ms": 250.0,
        "answer_p95_ms": 385.0,
    }
    for key, value in expected.items():
        assert summary[key] == pytest.approx(value), key


def test_summarize_with_no_eligible_question_gives_none_not_nan() -> None:
    summary = summarize([])
    assert tuple(summary) == SUMMARY_KEYS
    assert summary["n_questions"] == 0
    assert all(summary[key] is None for key in SUMMARY_KEYS[1:])
    json.dumps(summary, allow_nan=False)


def test_summarize_only_unanswerable_questions() -> None:
    unanswerable = four_questions()[3:]
    summary = summarize(unanswerable)
    assert summary["hit@1"] is None and summary["fact_recall"] is None
    assert summary["false_abstention_rate"] is None
    assert summary["abstention_accuracy"] == 0.0


def test_summarize_by_language_splits_the_set() -> None:
    by_language = summarize_by_language(four_questions())
    assert list(by_language) == ["en", "sv"]
    sv, en = by_language["sv"], by_language["en"]
    assert tuple(sv) == SUMMARY_KEYS
    assert sv["n_questions"] == 2 and en["n_questions"] == 2
    assert sv["hit@1"] == pytest.approx(0.5)  # q1 yes, q3 no
    assert sv["false_abstention_rate"] == pytest.approx(0.5)
    assert sv["abstention_accuracy"] is None  # no unanswerable sv question
    assert en["hit@1"] == 0.0 and en["mrr@10"] == pytest.approx(1 / 3)  # q2 only; q4 skipped
    assert en["abstention_accuracy"] == 0.0
    assert en["retrieval_p50_ms"] == pytest.approx(30.0)  # q2 and q4: 20, 40


# --- invariants ---------------------------------------------------------------------------------------

spans = st.builds(
    lambda doc, start, length: Span(doc, start, start + length),
    st.sampled_from(["a.txt", "b.txt"]),
    st.integers(0, 50),
    st.integers(0, 20),
)


@given(ranked=st.lists(spans, max_size=15), gold=st.lists(spans, min_size=1, max_size=5))
def test_retrieval_metrics_stay_in_range_and_agree(ranked: list[Span], gold: list[Span]) -> None:
    hits = [hit_at_k(ranked, gold, k) for k in (1, 3, 5, 10)]
    assert hits == sorted(hits)  # hit@k never drops as k grows
    rr, ndcg = reciprocal_rank(ranked, gold), ndcg_at_k(ranked, gold)
    assert rr is not None and ndcg is not None
    assert 0.0 <= rr <= 1.0 and 0.0 <= ndcg <= 1.0 + 1e-12
    assert (rr > 0) == (hits[-1] == 1.0) == (ndcg > 0)
    recall = citation_recall(ranked, gold)
    assert recall is not None and 0.0 <= recall <= 1.0
