"""How people open, refuse, hedge and agree, in the languages participants write in.

The offline readers (`listener.ai.rules`) read an answer after taking away what is not
the answer: a greeting or a filler before it ("ok", "sure,", "hola!"), an emoji, a
refusal ("prefer not to say"), not knowing ("idk"), words that talk to the machine. The
word lists cover English, Spanish, French, Portuguese, Swahili and Chinese (Traditional
first, Simplified beside it), with a few German and Italian words kept from before.
Everything is compared in a folded form: lower case, one space, no emoji.
"""

from __future__ import annotations

import re
import unicodedata

EMOJI_CATEGORIES = {"So", "Sk", "Co", "Cn"}
JOINERS = {"\u200d", "\ufe0f", "\ufe0e", "\u20e3"}
EDGE_PUNCTUATION = " .!?¡¿,;:\"'()[]…~*_。！？，、：；"
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# Greetings and fillers before an answer ("ok Tom", "yes, Tom", "hola! soy Ana").
OPENERS = (
    "hi there", "hello there", "hey there", "hi all", "hi everyone", "hello everyone", "good morning",
    "good afternoon", "good evening", "morning", "hi", "hello", "hey", "hiya", "heya", "yo", "ok", "okay",
    "okey", "kk", "sure", "yes", "yeah", "yep", "yup", "well", "so", "um", "umm", "uh", "erm", "hmm",
    "oh", "ah", "alright", "right", "of course", "fine", "sorry", "thanks", "thank you", "cool", "great",
    "hola", "buenas", "buenos dias", "buenos días", "buenas tardes", "buenas noches", "sí", "si", "claro",
    "vale", "bueno", "pues", "gracias", "perdón", "bonjour", "bonsoir", "salut", "coucou", "oui", "ouais",
    "d'accord", "alors", "euh", "bon", "merci", "pardon", "olá", "ola", "oi", "bom dia", "boa tarde",
    "boa noite", "sim", "obrigado", "obrigada", "desculpa", "jambo", "habari", "hujambo", "mambo",
    "sasa", "salama", "ndiyo", "ndio", "sawa", "asante", "samahani", "hallo", "ciao",
)
CJK_OPENERS = ("你好", "您好", "哈囉", "哈啰", "嗨", "好的", "好", "嗯", "對", "对", "是的")
OPENER = re.compile(
    r"^(?:(?:" + "|".join(re.escape(word) for word in sorted(OPENERS, key=len, reverse=True)) + r")"
    r"(?=$|[\s,.!?;:~-])|" + "|".join(re.escape(word) for word in CJK_OPENERS) + r")[\s,.!?;:~\-，。！]*"
)

DECLINES = (
    "prefer not to say", "prefer not", "i prefer not", "i'd prefer not", "rather not", "i'd rather not",
    "id rather not", "would rather not", "i would rather not", "no thanks", "no thank you", "skip",
    "pass", "none of your business", "not saying", "not telling", "don't want to say",
    "dont want to say", "do not want to say", "i don't want to say", "i dont want to say",
    "i'd rather not say", "no comment", "private", "confidential", "n/a", "prefiero no",
    "prefiero no decir", "paso", "no quiero decir", "no quiero decirlo", "je préfère ne pas",
    "préfère ne pas", "je prefere ne pas", "je ne veux pas le dire", "je ne préfère pas", "prefiro não",
    "prefiro nao", "não quero dizer", "nao quero dizer", "sitaki kusema", "sipendi kusema",
    "ningependa kutosema", "lieber nicht", "keine angabe",
)
CJK_DECLINES = ("不想說", "不想说", "不方便說", "不方便说", "不方便", "保密", "不告訴你", "不告诉你")

UNKNOWING = (
    "idk", "i don't know", "i dont know", "dont know", "don't know", "i do not know", "dunno",
    "not sure", "no idea", "no sé", "no se", "ni idea", "no lo sé", "je ne sais pas", "je sais pas",
    "sais pas", "aucune idée", "não sei", "nao sei", "sei lá", "sijui", "weiß nicht", "weiss nicht",
)
CJK_UNKNOWING = ("不知道", "不曉得", "不晓得", "不清楚")

INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|instructions?|system prompt|prompt|pretend|jailbreak|override)\b"
    r"|\bset (?:my|the|your) \w+|\byou are now\b|\bact as\b"
)
QUESTION = re.compile(
    r"^(?:what|why|how|who|where|when|which|can|could|do|does|did|is|are|qué|que|por qué|cómo|"
    r"cuál|quién|quoi|pourquoi|comment|qui|quel|quelle|est-ce|o que|como|quem|nini|kwa nini|"
    r"什麼|什么|為什麼|为什么|誰|谁|哪)\b.*\?$|^\?+$"
)


def _unemoji(text: str) -> str:
    return "".join(
        " " if unicodedata.category(ch) in EMOJI_CATEGORIES else ch for ch in text if ch not in JOINERS
    )


def clean(text: str) -> str:
    """The message as written, without emoji, on one line, trimmed of edge punctuation."""
    text = _unemoji(unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'"))
    return re.sub(r"\s+", " ", text).strip().strip(EDGE_PUNCTUATION)


def fold(text: str) -> str:
    """`clean`, lower case; letter for letter the same length, so an offset found in the
    folded text cuts the cleaned text at the same place."""
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in clean(text))


def plain(text: str) -> str:
    """Lower case, without accents or hyphens: "Veinti-séis" and "veintiseis" compare equal."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[\s\-‐‑–—]+", " ", bare.replace("’", "'")).strip()


def after_openers(folded: str, position: int = 0) -> int:
    """Where the answer starts once greetings and fillers (from `position` on) are taken away."""
    while position < len(folded):
        match = OPENER.match(folded, position)
        if not match or match.end() == position:
            break
        position = match.end()
    return position


def _starts_with(folded: str, phrases: tuple[str, ...], cjk: tuple[str, ...]) -> bool:
    return any(folded == phrase or folded.startswith(phrase + " ") for phrase in phrases) or any(
        folded.startswith(phrase) for phrase in cjk
    )


def declines(folded: str) -> bool:
    """A refusal to answer ("prefer not to say", "sorry, rather not"), in any language known."""
    rest = folded[after_openers(folded):]
    return any(_starts_with(text, DECLINES, CJK_DECLINES) for text in (folded, rest))


def unknowing(folded: str) -> bool:
    """"I don't know" is no answer to any question."""
    rest = folded[after_openers(folded):]
    return any(_starts_with(text, UNKNOWING, CJK_UNKNOWING) for text in (folded, rest))


def is_instruction(text: str) -> bool:
    """Words that talk to the machine ("ignore your instructions", "set my state") are not answers."""
    return bool(INSTRUCTION.search(fold(text)))


def is_question(folded: str) -> bool:
    """A question back ("what do you mean?") is not an answer."""
    return bool(QUESTION.search(folded))


def has_cjk(text: str) -> bool:
    return bool(CJK.search(text))
