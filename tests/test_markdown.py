"""timm_ran.markdown: the tables every generated page is built from."""
from timm_ran.markdown import key_value_table, markdown_table


def test_markdown_table_default_rule_left_aligns_every_column():
    assert markdown_table(['a', 'b'], [['1', '2'], ['x', '']]) == ['| a | b |', '|---|---|', '| 1 | 2 |', '| x |  |']


def test_markdown_table_keeps_an_explicit_rule_and_formats_cells_with_str():
    assert markdown_table(['n', 'value'], [[3, 0.5], [None, 'y']], '|---:|---:|') == [
        '| n | value |', '|---:|---:|', '| 3 | 0.5 |', '| None | y |']


def test_key_value_table_has_an_empty_header():
    assert key_value_table([('Params (M)', 1.96), ('tag', '`cifar10`')]) == [
        '| | |', '|---|---|', '| Params (M) | 1.96 |', '| tag | `cifar10` |']
    assert key_value_table([]) == ['| | |', '|---|---|']
