"""``uasbench fetch`` through the CLI against a local HTTP server (no test touches the internet): every real
archive format, the checksum refusal, Range resume, unsafe archives, the disk-space check, the stamp no-op,
--dry-run, --verify and the Hugging Face route through HF_ENDPOINT."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import pytest
import yaml

from tests.integration.fetch_layouts import btad_members, mvtec_members, visa_members
from tests.integration.fetch_server import FileServer, tar_bytes, zip_bytes
from uasbench.cli import main

HOST = "downloads.example.org"  # what the table names; the mirror option maps it onto the local server


def _publish(folder: Path, name: str, data: bytes) -> tuple[str, str]:
    """Put ``data`` where the mirror layout serves it; its table URL and sha256."""
    path = folder / HOST / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"https://{HOST}/{name}", hashlib.sha256(data).hexdigest()


@cache
def _benchmark_archives() -> tuple[bytes, bytes, bytes]:
    """Built once per session: the MVTec .tar.xz, the VisA .tar and the BTAD .zip at the official counts."""
    return tar_bytes(mvtec_members(), "w:xz"), tar_bytes(visa_members()), zip_bytes(btad_members())


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A served folder with an archive of each real format and a weight file, and a source table naming them."""
    served = tmp_path / "served"
    table = {}

    def archive(name, data, fmt, dest, member_root=".", kind="dataset", provides=None, **extra):
        url, sha = _publish(served, f"{name}.{fmt}", data)
        table[name] = {"title": name, "kind": kind, "provides": provides or name, "dest": dest, "archive": fmt,
                       "member_root": member_root, "files": [{"url": url, "size": len(data), "sha256": sha}], **extra}

    mvtec, visa, btad = _benchmark_archives()
    archive("mvtec", mvtec, "tar.xz", "{data}/mvtec_anomaly_detection")
    archive("visa", visa, "tar", "{data}/VisA_20220922")
    archive("btad", btad, "zip", "{data}/BTech_Dataset_transformed",
            member_root="BTech_Dataset_transformed")
    archive("coco-train2017", zip_bytes({f"train2017/{i:012d}.jpg": b"jpg" for i in range(5)}), "zip",
            "{data}/coco/train2017", member_root="train2017", kind="coco", provides="images", expect_files=5,
            expect_glob="*.jpg")
    weight = bytes(range(256)) * 4096  # 1 MiB, so a cut download has a real offset
    url, sha = _publish(served, "weights/backbone-b4.pth", weight)
    table["efficientnet-b4"] = {"title": "weight", "kind": "weights", "provides": "efficientnet_b4",
                                "dest": "{torch_hub}", "files": [{"url": url, "path": f"backbone-b4-{sha[:8]}.pth",
                                                                  "size": len(weight), "sha256_prefix": sha[:8]}]}
    checkpoint = b"metauas checkpoint bytes" * 100
    hub_file = served / "spaces/owner/MetaUAS/resolve/main/weights/metauas-256.ckpt"
    hub_file.parent.mkdir(parents=True)
    hub_file.write_bytes(checkpoint)
    table["metauas-weights"] = {"title": "ckpt", "kind": "checkpoint", "provides": "metauas", "dest": "{data}/official",
                                "files": [{"hf": {"repo": "owner/MetaUAS", "type": "space",
                                                  "file": "weights/metauas-256.ckpt"},
                                           "path": "metauas-256.ckpt", "size": len(checkpoint),
                                           "sha256": hashlib.sha256(checkpoint).hexdigest()}]}
    table_file = tmp_path / "sources.yaml"
    table_file.write_text(yaml.safe_dump(table))
    monkeypatch.setenv("UASBENCH_SOURCES", str(table_file))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    with FileServer(served) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server, tmp_path / "data", table


def fetch(server, root, *args):
    return main(["fetch", *args, "--data-root", str(root), "--mirror", server.url, "--no-progress"])


def test_every_format_fetched_extracted_and_stamped_then_a_noop(site, monkeypatch):
    server, root, table = site
    assert fetch(server, root, *table) == 0
    assert len(list((root / "mvtec_anomaly_detection").glob("*/train/good/*.png"))) == 3629
    assert (root / "VisA_20220922/split_csv/1cls.csv").is_file()
    btad = root / "BTech_Dataset_transformed"
    assert {p.suffix for p in (btad / "01/train/ok").iterdir()} == {".bmp"}  # original extensions kept
    assert {p.suffix for p in (btad / "02/train/ok").iterdir()} == {".png"}
    assert {p.suffix for p in (btad / "03/ground_truth/ko").iterdir()} == {".bmp"}
    assert len(list((root / "coco/train2017").glob("*.jpg"))) == 5
    weight = Path(table["efficientnet-b4"]["files"][0]["path"])
    assert (root.parent / "torch/hub/checkpoints" / weight).is_file()
    assert (root / "official/metauas-256.ckpt").read_bytes().startswith(b"metauas checkpoint")
    assert sorted(p.stem for p in (root / ".fetched").glob("*.json")) == sorted(table)
    assert not list(root.glob(".downloads/*")) and not list(root.glob(".*.extracting"))
    sent = sum(server.bytes_sent.values())

    def no_rehash(*args):
        raise AssertionError("a stamped source must not be hashed again")

    monkeypatch.setattr("uasbench.inputs.fetch.file_digest", no_rehash)
    assert fetch(server, root, *table) == 0
    assert sum(server.bytes_sent.values()) == sent  # nothing downloaded the second time


def test_checksum_mismatch_refused_and_the_partial_file_removed(site, tmp_path, monkeypatch, capsys):
    server, root, table = site
    table["btad"]["files"][0]["sha256"] = "0" * 64
    bad_table = tmp_path / "bad.yaml"
    bad_table.write_text(yaml.safe_dump(table))
    monkeypatch.setenv("UASBENCH_SOURCES", str(bad_table))
    assert fetch(server, root, "btad") == 2
    err = capsys.readouterr().err
    url = table["btad"]["files"][0]["url"]
    assert url in err and "0" * 64 in err and hashlib.sha256((tmp_path / "served" / HOST / "btad.zip").read_bytes()
                                                              ).hexdigest() in err
    assert not list(root.rglob("*.part")) and not (root / "BTech_Dataset_transformed").exists()
    assert not (root / ".fetched/btad.json").exists()


def test_a_cut_download_resumes_from_its_offset_and_matches_pooch(site, capsys):
    server, root, table = site
    spec = table["efficientnet-b4"]["files"][0]
    path = f"/{HOST}/weights/backbone-b4.pth"
    server.cut_after[path] = 300_000
    assert fetch(server, root, "efficientnet-b4") == 2
    err = capsys.readouterr().err
    assert "resume" in err, err
    (part,) = root.parent.rglob("*.part")
    offset = part.stat().st_size
    assert 0 < offset <= 300_000
    assert fetch(server, root, "efficientnet-b4") == 0
    assert server.ranges[path] == [0, offset]  # the second request asked only for the rest
    assert server.bytes_sent[path] == 300_000 + spec["size"] - offset
    import pooch

    reference = pooch.retrieve(f"{server.url}{path}", known_hash=None, path=root.parent / "pooch", progressbar=False)
    ours = root.parent / "torch/hub/checkpoints" / spec["path"]
    assert Path(reference).read_bytes() == ours.read_bytes()


@pytest.mark.parametrize("members, links", [
    ({"good/a.png": b"x", "../escape.txt": b"x"}, {}),
    ({"/etc/absolute.txt": b"x"}, {}),
    ({"good/a.png": b"x"}, {"good/link": "../../outside"}),
    ({"good/a.png": b"x"}, {"good/abs-link": "/etc/passwd"}),
], ids=["dotdot", "absolute", "outward-link", "absolute-link"])
def test_unsafe_tar_refused_before_extraction(site, tmp_path, monkeypatch, capsys, members, links):
    server, root, table = site
    url, sha = _publish(tmp_path / "served", "evil.tar", tar_bytes(members, links=links))
    table = {"evil": {"title": "evil", "kind": "dataset", "provides": "folder", "dest": "{data}/evil", "archive": "tar",
                      "files": [{"url": url, "size": None, "sha256": sha}]}}
    (tmp_path / "evil.yaml").write_text(yaml.safe_dump(table))
    monkeypatch.setenv("UASBENCH_SOURCES", str(tmp_path / "evil.yaml"))
    assert fetch(server, root, "evil") == 2
    err = capsys.readouterr().err
    assert "outside the destination" in err or "a link leaving the destination" in err, err
    assert not (root / "evil").exists() and not (tmp_path / "escape.txt").exists()
    assert not list(root.glob(".evil.*"))


def test_unsafe_zip_refused(site, tmp_path, monkeypatch, capsys):
    server, root, _ = site
    url, sha = _publish(tmp_path / "served", "evil.zip", zip_bytes({"a/ok.png": b"x", "a/../../escape": b"x"}))
    (tmp_path / "evil.yaml").write_text(yaml.safe_dump({"evil": {
        "title": "evil", "kind": "dataset", "provides": "folder", "dest": "{data}/evil", "archive": "zip",
        "files": [{"url": url, "size": None, "sha256": sha}]}}))
    monkeypatch.setenv("UASBENCH_SOURCES", str(tmp_path / "evil.yaml"))
    assert fetch(server, root, "evil") == 2
    assert "a/../../escape" in capsys.readouterr().err
    assert not (root / "evil").exists()


def test_too_little_disk_refused_before_downloading(site, monkeypatch, capsys):
    server, root, table = site
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**12, 10**12 - 1000, 1000))
    assert fetch(server, root, "mvtec") == 2
    err = capsys.readouterr().err
    assert "mvtec needs" in err and "only 1.0 kB is free" in err
    assert sum(server.bytes_sent.values()) == 0


def test_dry_run_downloads_nothing_and_lists_sizes_and_places(site, capsys):
    server, root, table = site
    assert fetch(server, root, "--dry-run", *table) == 0
    out = capsys.readouterr().out
    assert sum(server.bytes_sent.values()) == 0 and not root.exists()
    assert str(root / "mvtec_anomaly_detection") in out and "to download" in out and " MB" in out


def test_verify_finds_a_corrupted_weight(site, capsys):
    server, root, table = site
    assert fetch(server, root, "efficientnet-b4", "btad") == 0
    assert main(["fetch", "--verify", "efficientnet-b4", "btad", "--data-root", str(root)]) == 0
    weight = root.parent / "torch/hub/checkpoints" / table["efficientnet-b4"]["files"][0]["path"]
    weight.write_bytes(b"corrupted")
    assert main(["fetch", "--verify", "efficientnet-b4", "--data-root", str(root)]) == 2
    assert "efficientnet-b4" in capsys.readouterr().err


def test_paper_config_dry_run_lists_every_input_with_its_size(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("UASBENCH_SOURCES", raising=False)
    assert main(["fetch", "--dry-run", "--config", "config/paper.yaml", "--data-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("mvtec", "visa", "btad", "goodsad", "metauas-prompts", "coco-train2017", "coco-annotations",
                 "efficientnet-b4", "efficientnet-b6", "clip-vit-b-16-plus-240"):
        assert f"\n{name} " in f"\n{out}", name
    assert "5.3 GB" in out and "19.3 GB" in out and not (tmp_path / ".fetched").exists()


def test_manual_source_prints_where_to_get_it_then_verifies_what_the_user_placed(tmp_path, monkeypatch, capsys):
    from uasbench.datasets.benchmarks.counts import OFFICIAL_COUNTS

    monkeypatch.delenv("UASBENCH_SOURCES", raising=False)
    root = tmp_path / "data"
    assert main(["fetch", "goodsad", "--data-root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "github.com/jianzhang96/GoodsAD" in err and str(root / "GoodsAD") in err
    for cls, counts in OFFICIAL_COUNTS["goodsad"].items():
        for split, defect, count in (("train", "good", counts.train_good), ("test", "good", counts.test_good),
                                     ("test", "dent", counts.test_defective)):
            folder = root / "GoodsAD" / cls / split / defect
            folder.mkdir(parents=True, exist_ok=True)
            for n in range(count):
                (folder / f"{n:03d}_000.jpg").write_bytes(b"jpg")
                if defect != "good":
                    (root / "GoodsAD" / cls / "ground_truth" / defect).mkdir(parents=True, exist_ok=True)
                    (root / "GoodsAD" / cls / "ground_truth" / defect / f"{n:03d}_000.png").write_bytes(b"png")
    assert main(["fetch", "goodsad", "--data-root", str(root)]) == 0
    assert (root / ".fetched/goodsad.json").is_file()


def test_unpublished_hash_is_recorded_at_the_first_download_and_verified_after(site, tmp_path, monkeypatch, capsys):
    server, root, table = site
    drive_file = tmp_path / "served/drive.google.com/abc123"
    drive_file.parent.mkdir(parents=True)
    drive_file.write_bytes(b"official onenip checkpoint")
    (tmp_path / "drive.yaml").write_text(yaml.safe_dump({"onenip-weights": {
        "title": "drive", "kind": "checkpoint", "provides": "onenip", "dest": "{data}/official/onenip",
        "files": [{"gdrive": "abc123", "path": "onenip-mvtec-4-4-224/ckpt.pkl", "size": None, "record": True}]}}))
    monkeypatch.setenv("UASBENCH_SOURCES", str(tmp_path / "drive.yaml"))
    assert fetch(server, root, "onenip-weights") == 0  # through the mirror: no Google Drive in a test
    stamp = yaml.safe_load((root / ".fetched/onenip-weights.json").read_text())
    assert stamp["files"][0]["digest"] == hashlib.sha256(b"official onenip checkpoint").hexdigest()
    (root / "official/onenip/onenip-mvtec-4-4-224/ckpt.pkl").write_bytes(b"replaced by something else")
    assert main(["fetch", "--verify", "onenip-weights", "--data-root", str(root)]) == 2
    assert "expected " + stamp["files"][0]["digest"] in capsys.readouterr().err
