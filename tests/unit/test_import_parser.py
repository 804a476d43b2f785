"""Row-by-row validation of transaction import files (CSV and JSON), with exact line numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from timemachine.errors import InvalidInputError
from timemachine.orchestration.tx_imports import parse_import, read_import_file

H1 = "0x" + "11" * 32
H2 = "0x" + "22" * 32
H3 = "0x" + "33" * 32


def errors(parsed: object) -> list[tuple[int, str]]:
    return [(e.line, e.reason) for e in parsed.errors]  # type: ignore[attr-defined]


def test_csv_good_rows_with_metadata_and_defaults() -> None:
    text = f"Hash,Chain,Block,Label,note,extra\n{H1},ethereum,0x10,first,hi,\n{H2},,7,,,x\n"
    parsed = parse_import(text, default_chain="bsc")
    assert parsed.errors == []
    first, second = parsed.items
    assert (first.chain_id, first.hash, first.block, first.label) == (1, H1, 16, "first")
    assert first.metadata == {"note": "hi"}  # empty cells are left out
    assert (second.chain_id, second.block, second.label, second.metadata) == (
        56,
        7,
        None,
        {"extra": "x"},
    )
    assert parsed.item_lines == [2, 3]


def test_csv_every_malformed_row_reported_with_its_file_line() -> None:
    text = "\n".join(
        [
            "hash,chain,block,label",  # 1
            f"{H1},ethereum,1,ok",  # 2
            "0x1234,ethereum,1,short hash",  # 3
            f"{H2},narnia,1,unknown chain",  # 4
            f"{H2},ethereum,-5,negative block",  # 5
            f"{H2},ethereum,twelve,bad block",  # 6
            f"{H2},ethereum,1",  # 7 missing a cell
            f"{H2},ethereum,1,x,y",  # 8 one cell too many
            "",  # 9 blank: skipped
            ",ethereum,1,no hash",  # 10
            f"{H2},,1,no chain",  # 11 (no --chain default)
            f"{H3},1,2,{'x' * 201}",  # 12 label too long
            f"{H2},ethereum,3,good",  # 13
            f"{H1.upper().replace('0X', '0x')},1,1,dup",  # 14 duplicate of line 2
            f"{H1},ethereum,9,conflict",  # 15 same hash, other block
        ]
    )
    parsed = parse_import(text, file_format="csv")
    assert [(e.line) for e in parsed.errors] == [3, 4, 5, 6, 7, 8, 10, 11, 12, 15]
    reasons = dict(errors(parsed))
    assert "not a transaction hash" in reasons[3]
    assert reasons[4] == "unknown chain 'narnia'"
    assert reasons[5] == "block must be a non-negative integer, found '-5'"
    assert reasons[6] == "block must be a non-negative integer, found 'twelve'"
    assert reasons[7] == "expected 4 cells (as in the header), found 3"
    assert reasons[8] == "expected 4 cells (as in the header), found 5"
    assert "no transaction hash" in reasons[10]
    assert "no chain" in reasons[11]
    assert reasons[12] == "label is 201 characters; the limit is 200"
    assert "listed on line 2 with block 1, here with block 9" in reasons[15]
    assert [i.hash for i in parsed.items] == [H1, H2]
    assert [(d.line, d.first_line) for d in parsed.duplicates] == [(14, 2)]
    assert parsed.items[0].label == "dup"  # the later row's label wins when merged
    assert parsed.rows == 13  # 2 good + 10 rejected + 1 duplicate (blank line not a row)


def test_csv_line_numbers_count_multi_line_quoted_cells_crlf_and_bom() -> None:
    text = f'\ufeffhash,chain,note\r\n{H1},1,"two\r\nlines"\r\nbad,1,x\r\n{H2},1,y\r\n'
    parsed = parse_import(text.encode("utf-8"))
    assert errors(parsed)[0][0] == 4  # the row after the two-line cell starts on line 4
    assert [i.metadata for i in parsed.items] == [{"note": "two\r\nlines"}, {"note": "y"}]
    assert parse_import(text.encode("utf-8")).items[0].hash == H1  # BOM stripped from "hash"


def test_csv_header_problems_reject_the_file() -> None:
    with pytest.raises(InvalidInputError, match=r"no 'hash' column \(found: tx, chain\)"):
        parse_import(f"tx,chain\n{H1},1\n", file_format="csv")
    with pytest.raises(InvalidInputError, match="no 'chain' column and no default chain"):
        parse_import(f"hash,block\n{H1},1\n")
    with pytest.raises(InvalidInputError, match="repeats column"):
        parse_import(f"hash,chain,chain\n{H1},1,1\n")
    with pytest.raises(InvalidInputError, match="unknown chain 'narnia' for --chain"):
        parse_import(f"hash\n{H1}\n", default_chain="narnia")


def test_csv_without_chain_column_uses_default() -> None:
    parsed = parse_import(f"hash\n{H1}\n", default_chain="31337")
    assert parsed.items[0].chain_id == 31337


def test_csv_unterminated_quote_reports_the_line_and_keeps_earlier_rows() -> None:
    text = f'hash,chain,note\n{H1},1,ok\n{H2},1,"open\n'
    parsed = parse_import(text, file_format="csv")
    assert [i.hash for i in parsed.items] == [H1]
    assert errors(parsed)[0][0] == 3
    assert "malformed CSV" in errors(parsed)[0][1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (b"\xff\xfehash", "not UTF-8"),
        (b"\x00\x01\x02binary", "binary"),
        (b'{"hash": 1}', "JSON in the input is an object, not a list"),
        (b"[1, 2", "not valid JSON"),
        (b'"text"', "is a string, not a list"),
    ],
)
def test_unreadable_inputs_reject_the_file(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_import(data, file_format="json" if data.startswith((b"{", b"[", b'"')) else None)


def test_json_rows_reported_by_array_index() -> None:
    document = [
        {"hash": H1, "chain": "ethereum", "block": 5, "label": "a", "protocol": "uni", "n": 2},
        {"hash": "0xzz", "chain": 1},
        "not an object",
        {"hash": H2, "chain": True},
        {"hash": H2, "chain": 1, "block": "0x0a", "metadata": {"k": [1, 2]}},
        {"hash": H2, "chain": 1, "label": 7},
        {"hash": 12, "chain": 1},
        {"chain": 1},
        {"hash": H2, "chain": 1, "block": 1.5},
        {"hash": H2, "chain": "1"},
    ]
    parsed = parse_import(json.dumps(document).encode(), default_chain=None)
    assert errors(parsed) == [
        (1, "not a transaction hash (0x + 64 hex digits): '0xzz'"),
        (2, "expected an object with a 'hash' key, found a string"),
        (3, "chain must be a name or an id, found a boolean"),
        (5, "label must be a string, found a number"),
        (6, "hash must be a string, found a number"),
        (7, "no transaction hash (the 'hash' cell is empty or missing)"),
        (8, "block must be a non-negative integer, found 1.5"),
    ]
    first, second = parsed.items
    assert first.metadata == {"protocol": "uni", "n": 2}
    assert (second.block, second.metadata) == (10, {"k": [1, 2]})
    assert [(d.line, d.first_line) for d in parsed.duplicates] == [(9, 4)]


def test_json_nan_metadata_is_rejected_row_by_row() -> None:
    parsed = parse_import(f'[{{"hash": "{H1}", "chain": 1, "score": NaN}}]')
    assert parsed.items == []
    assert errors(parsed)[0][0] == 0
    assert "not plain JSON" in errors(parsed)[0][1]


def test_read_import_file_by_extension_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text(json.dumps([{"hash": H1, "chain": 1}]))
    assert read_import_file(path).items[0].hash == H1
    sniffed = tmp_path / "list.txt"
    sniffed.write_text(f"hash,chain\n{H1},1\n")
    assert read_import_file(sniffed).items[0].chain_id == 1
    with pytest.raises(InvalidInputError, match="cannot read"):
        read_import_file(tmp_path / "missing.csv")
    with pytest.raises(InvalidInputError, match="is a directory"):
        read_import_file(tmp_path)
    wrong = tmp_path / "list.csv"
    wrong.write_text(json.dumps([{"hash": H1}]))  # a .csv holding JSON: read as CSV, no 'hash'
    with pytest.raises(InvalidInputError, match="no 'hash' column"):
        read_import_file(wrong, default_chain="1")
