"""responserank.datasets: download once, checksum, cache, local copy, offline message, validation, CLI."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import shutil
import subprocess
import sys
import urllib.error

import numpy as np
import pandas as pd
import pytest
from helpers import SHARED

from responserank import datasets
from responserank.__main__ import main as responserank_main
from responserank.datasets import CLITHERO, load_clithero
from responserank.errors import DatasetError

SHARED_COPY = SHARED / "data" / "clithero" / "ClitheroDataset.csv"


def small_clithero_csv() -> str:
    """A valid file in the original layout: 2 subjects, 3 snacks, every pair once plus two yes/no rows each."""
    rows = []
    for subject in (601.0, 602.0):
        for left, right in itertools.combinations((1, 2, 3), 2):
            rows.append(
                {"trial": len(rows), "item_l": f"s{left}.jpg", "item_r": f"s{right}.jpg", "choice": 1.0,
                 "rt": 0.8 + 0.1 * right, "subj": subject, "YesNo": 0.0, "response": np.nan, "item": np.nan,
                 "Item_l": float(left), "Item_r": float(right), "Item": 0.0}
            )  # fmt: skip
        for snack in (1, 2):
            rows.append(
                {"trial": len(rows), "item_l": np.nan, "item_r": np.nan, "choice": np.nan, "rt": 0.6,
                 "subj": subject, "YesNo": 1.0, "response": float(snack == 1), "item": f"s{snack}.jpg",
                 "Item_l": np.nan, "Item_r": np.nan, "Item": float(snack)}
            )  # fmt: skip
    return pd.DataFrame(rows).to_csv()


@pytest.fixture
def remote(monkeypatch):
    """The Clithero entry with the small file's checksum, and a fake downloader counting its calls."""
    payload = small_clithero_csv().encode()
    entry = dataclasses.replace(CLITHERO, sha256=hashlib.sha256(payload).hexdigest())
    monkeypatch.setattr(datasets, "CLITHERO", entry)
    monkeypatch.delenv(datasets.DATA_ENV, raising=False)
    monkeypatch.delenv(datasets.CLITHERO_ENV, raising=False)
    calls = []

    def fake_download(url, destination, timeout=30.0):
        calls.append(url)
        destination.write_bytes(payload)

    monkeypatch.setattr(datasets, "_download", fake_download)
    return calls


def test_first_use_downloads_checks_and_caches(remote, tmp_path):
    frame = load_clithero(cache_dir=tmp_path)
    assert remote == [CLITHERO.url]
    assert (tmp_path / "clithero" / "ClitheroDataset.csv").is_file()
    assert len(frame) == 10 and set(frame["subj"]) == {601.0, 602.0}
    load_clithero(cache_dir=tmp_path)
    assert len(remote) == 1  # second use reads the cache
    (tmp_path / "clithero" / "ClitheroDataset.csv").write_text("damaged")
    load_clithero(cache_dir=tmp_path)
    assert len(remote) == 2  # a cached file failing its checksum is fetched again
    assert not list((tmp_path / "clithero").glob(".*part"))


def test_cache_folder_from_the_environment(remote, tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.DATA_ENV, str(tmp_path / "data"))
    load_clithero()
    assert (tmp_path / "data" / "clithero" / "ClitheroDataset.csv").is_file()


def test_checksum_mismatch_discards_the_download(remote, tmp_path, monkeypatch):
    monkeypatch.setattr(
        datasets, "_download", lambda url, destination, timeout=30.0: destination.write_text("x")
    )
    with pytest.raises(DatasetError, match=r"checksum mismatch for ClitheroDataset.csv .* discarded") as info:
        load_clithero(cache_dir=tmp_path)
    assert "\n" not in str(info.value)
    assert list((tmp_path / "clithero").iterdir()) == []


@pytest.mark.parametrize(
    "failure", [urllib.error.URLError("Name or service not known"), TimeoutError("timed out")]
)
def test_offline_without_a_copy_says_where_to_get_it(remote, tmp_path, monkeypatch, failure):
    def offline(url, destination, timeout=30.0):
        raise failure

    monkeypatch.setattr(datasets, "_download", offline)
    with pytest.raises(DatasetError) as info:
        load_clithero(cache_dir=tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert CLITHERO.url in message and "path=" in message and datasets.CLITHERO_ENV in message
    assert list((tmp_path / "clithero").iterdir()) == []


def test_offline_command_line_is_one_line(remote, tmp_path, monkeypatch, capsys):
    def offline(url, destination, timeout=30.0):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(datasets, "_download", offline)
    assert datasets.main(["clithero", "--cache-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot download ClitheroDataset.csv")


def test_local_copy_by_path_and_environment(remote, tmp_path, monkeypatch, capsys):
    copy = tmp_path / "mine.csv"
    copy.write_text(small_clithero_csv())
    assert len(load_clithero(path=copy, cache_dir=tmp_path / "cache")) == 10
    monkeypatch.setenv(datasets.CLITHERO_ENV, str(copy))
    assert len(load_clithero(cache_dir=tmp_path / "cache")) == 10
    assert remote == [] and not (tmp_path / "cache").exists()
    assert responserank_main(["datasets", "clithero"]) == 0
    assert "clithero: 10 rows, 2 subjects" in capsys.readouterr().out
    with pytest.raises(DatasetError, match="is not a file"):
        load_clithero(path=tmp_path / "missing.csv")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["rt"]), r"columns \['rt'\] are missing"),
        (lambda f: f.assign(rt=f["rt"].where(f.index != 3, -1.0)), r"'rt' must be a positive number.*row 3"),
        (lambda f: f.assign(choice=f["choice"].where(f.index != 1, 3.0)), r"'choice' must be 1 \(left\)"),
        (lambda f: f.assign(Item_l=f["Item_l"].where(f.index != 0, 18.0)), r"'Item_l' must be a snack id"),
        (lambda f: f.assign(subj=f["subj"].where(f.index != 2, np.nan)), r"'subj' must be a subject id"),
        (lambda f: f.assign(response=f["response"].where(f.index != 3, 0.5)), r"'response' must be 0"),
    ],
)
def test_bad_local_files_are_one_line_errors(tmp_path, change, message):
    frame = pd.read_csv(pd.io.common.StringIO(small_clithero_csv()), index_col=0)
    copy = tmp_path / "bad.csv"
    change(frame).to_csv(copy)
    with pytest.raises(DatasetError, match=message) as info:
        load_clithero(path=copy)
    assert "\n" not in str(info.value)


def test_the_real_file_through_path():
    if not SHARED_COPY.is_file():
        pytest.skip("../shared/data/clithero is absent")
    assert datasets.sha256_of(SHARED_COPY) == CLITHERO.sha256
    frame = load_clithero(path=SHARED_COPY)
    assert frame.shape == (31 * 306, 14)
    assert (frame.groupby("subj")["YesNo"].agg(["size", "sum"]).to_numpy() == (306, 170)).all()
    params_copy = SHARED_COPY.with_name(datasets.CLITHERO_DDM_PARAMS.name)
    assert datasets.sha256_of(params_copy) == datasets.CLITHERO_DDM_PARAMS.sha256
    assert len(datasets.load_clithero_ddm_params(path=params_copy)) == 31


def test_a_cached_real_file_is_used_without_download(tmp_path, monkeypatch):
    """The real checksum accepts the real file placed in the cache: no download is attempted."""
    if not SHARED_COPY.is_file():
        pytest.skip("../shared/data/clithero is absent")
    (tmp_path / "clithero").mkdir()
    shutil.copy(SHARED_COPY, tmp_path / "clithero" / CLITHERO.name)

    def no_network(url, destination, timeout=30.0):
        raise AssertionError("downloaded although the cache is valid")

    monkeypatch.setattr(datasets, "_download", no_network)
    assert len(load_clithero(cache_dir=tmp_path)) == 31 * 306


def test_module_command_line_runs(tmp_path):
    copy = tmp_path / "c.csv"
    copy.write_text(small_clithero_csv())
    result = subprocess.run(
        [sys.executable, "-m", "responserank.datasets", "clithero", "--path", str(copy)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "clithero: 10 rows, 2 subjects" in result.stdout
