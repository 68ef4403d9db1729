"""What a work folder's fingerprint compares, on plain dicts (no painting)."""

from art.files import workdir


def fingerprint(**settings):
    return {"settings": dict({"size": "512"}, **settings), "inputs": ["a"], "weights": "w",
            "levels": [{"size": [512, 384], "iterations": 300, "tiles": 0}]}


def test_a_folder_from_before_a_setting_existed_resumes_with_its_one_behaviour():
    # Work folders written before --padding painted with zero padding.
    assert workdir.differences(fingerprint(), fingerprint(padding="zero")) == []
    assert workdir.differences(fingerprint(), fingerprint(padding="reflect")) == [
        '--padding was "zero", now "reflect"']
    # ... and without an edge margin.
    assert workdir.differences(fingerprint(), fingerprint(edge_margin=0)) == []
    assert workdir.differences(fingerprint(), fingerprint(edge_margin=8)) == [
        "--edge-margin was 0, now 8"]


def test_a_changed_setting_is_named():
    assert workdir.differences(fingerprint(padding="reflect"), fingerprint(padding="zero")) == [
        '--padding was "reflect", now "zero"']
    assert workdir.differences(fingerprint(size="512"), fingerprint(size="1024")) == [
        '--size was "512", now "1024"']
