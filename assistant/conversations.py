"""Short-term memory of API conversations, so follow-ups ("och i Stockholm?") keep their subject.

Kept in process memory and bounded both ways (conversations and turns per
conversation): a follow-up only needs the last few turns, and an intranet
service must not grow without limit when clients never reuse their ids. The
least recently used conversation is forgotten first; a forgotten id simply
starts a new conversation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque

MAX_CONVERSATIONS = 1000
MAX_TURNS = 10

Turn = tuple[str, str]  # (question, answer text)


class ConversationMemory:
    def __init__(self, max_conversations: int = MAX_CONVERSATIONS, max_turns: int = MAX_TURNS) -> None:
        if max_conversations < 1 or max_turns < 1:
            raise ValueError("max_conversations and max_turns must be at least 1")
        self.max_conversations = max_conversations
        self.max_turns = max_turns
        self._turns: OrderedDict[str, deque[Turn]] = OrderedDict()
        self._lock = threading.Lock()  # endpoints run in a thread pool

    def history(self, conversation_id: str) -> list[Turn]:
        with self._lock:
            turns = self._turns.get(conversation_id)
            if turns is None:
                return []
            self._turns.move_to_end(conversation_id)
            return list(turns)

    def add(self, conversation_id: str, question: str, answer: str) -> None:
        with self._lock:
            turns = self._turns.get(conversation_id)
            if turns is None:
                turns = self._turns[conversation_id] = deque(maxlen=self.max_turns)
            self._turns.move_to_end(conversation_id)
            turns.append((question, answer))
            while len(self._turns) > self.max_conversations:
                self._turns.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._turns)

    def __contains__(self, conversation_id: object) -> bool:
        with self._lock:
            return conversation_id in self._turns
