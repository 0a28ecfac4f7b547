from ftd_nas.agreement import format_interval, format_value


def test_a_value_is_written_with_its_digits_and_undefined_ones_as_a_dash():
    assert format_value(0.8449) == "0.84" and format_value(0.171, digits=1, scale=100) == "17.1"
    assert format_value(None) == "-" and format_value(float("nan")) == "-"
    assert format_value(0.12, digits=3, sign=True) == "+0.120"


def test_an_interval_follows_its_value_and_is_left_out_when_it_has_no_bounds():
    assert format_interval(0.84, [0.71, 0.93]) == "0.84 [0.71, 0.93]"
    assert format_interval(0.84, [None, None]) == "0.84" and format_interval(0.84, None) == "0.84"
    assert format_interval(0.085, [0.0, 0.228], digits=1, scale=100, spread=0.121) == "8.5 ± 12.1 [0.0, 22.8]"
    assert format_interval(-0.05, [-0.08, -0.02], digits=1, scale=100, sign=True, unit=" pts") == \
        "-5.0 pts [-8.0, -2.0]"
    assert format_interval(None, None) == "-"
