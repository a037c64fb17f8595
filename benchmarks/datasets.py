"""Where the benchmarks find the public datasets they measure on. The datasets are not part of deskdraft: each
benchmark takes `--datasets DIR` (default: $DESKDRAFT_DATASETS) and, when a file is missing, says where to get it."""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ENV = "DESKDRAFT_DATASETS"


@dataclass(frozen=True)
class Dataset:
    folder: str  # under the datasets directory
    files: tuple[str, ...]
    repository: str  # on GitHub
    paths: str  # the files' paths in that repository
    commit: str
    licence: str


BANKING77 = Dataset("banking77", ("train.csv", "test.csv"), "PolyAI-LDN/task-specific-datasets",
                    "banking_data/train.csv, banking_data/test.csv", "57ec275d8078af65b7731c2a98be812d844a6d6b",
                    "CC BY 4.0 (Casanueva et al. 2020, PolyAI)")
STACKFAQ = Dataset("stackfaq", ("stackExchange-FAQ.json",), "ML-Recipes/BERT-FAQ",
                   "data/StackFAQ/stackExchange-FAQ.json", "3c184030c1819b462e29f665465ab4968657440e",
                   "StackExchange text, CC BY-SA (Karan & Šnajder 2018, TakeLab)")
BITEXT = Dataset("bitext-customer-support", ("Bitext_Sample_Customer_Support_Training_Dataset.csv",),
                 "bitext/customer-support-llm-chatbot-training-dataset",
                 "data/train/Bitext_Sample_Customer_Support_Training_Dataset.csv",
                 "8b6ca3d9559a4a9abab94f7978fae67019215a82", "CDLA-Sharing-1.0")


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--datasets", type=Path, default=os.environ.get(ENV) or None,
                        help=f"folder holding the public datasets (default: ${ENV})")


def require(root: Path | None, dataset: Dataset) -> Path:
    """The dataset's folder under root; exits with where to get the files when any is missing."""
    folder = root / dataset.folder if root else None
    missing = [name for name in dataset.files if folder is None or not (folder / name).is_file()]
    if missing:
        where = f"{folder}" if folder else f"<datasets>/{dataset.folder} (pass --datasets DIR or set ${ENV})"
        sys.exit(f"benchmark needs {', '.join(missing)} in {where}.\n"
                 f"Get it from the GitHub repository {dataset.repository} at commit {dataset.commit}: "
                 f"{dataset.paths} (licence: {dataset.licence}). Put the files, under their own names, in "
                 f"<datasets>/{dataset.folder}/.")
    return folder  # type: ignore[return-value]  # not None when nothing is missing
