"""Hostile tests of issue 14 (found by a helper attacking the fast prediction path).

Every edit of scorer.npz below is made as an attacker who also rewrites the card's
sha256 would make it. Each must either be refused with a PipelineError, or leave every
answer as it was: no traceback, no runaway loop, no silent change of labels.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import PipelineError
from pipeline.model.persistence import CARD_FILE, load_model
from pipeline.model.scorer import SCORER_FILE

TEXTS = ["Her passport was taken on arrival. She was told she owed money for the flight.",
         "Profits were moved through crypto wallets.", "", "The weather was fine."]

CASES = {
 "noop": "pass",
 "del_coef": "del d['coef']",
 "del_intercept": "del d['intercept']",
 "del_label": "del d['label']",
 "del_a": "del d['a']",
 "del_b": "del d['b']",
 "del_meta": "del d['meta']",
 "del_needed": "del d['needed_table']",
 "del_format": "del d['format']",
 "del_sealed": "del d['sealed']",
 "del_wordsidf": "del d['words.idf']",
 "del_charsterms": "del d['chars.terms']",
 "del_wordstokens": "del d['words.tokens']",
 "del_wordskeys1": "del d['words.keys1']",
 "coef_short": "d['coef']=d['coef'][:100]",
 "coef_cols12": "d['coef']=d['coef'][:, :12]",
 "coef_1d": "d['coef']=d['coef'][:,0]",
 "coef_T": "d['coef']=np.ascontiguousarray(d['coef'].T)",
 "coef_str": "d['coef']=np.array(['x']*13)",
 "coef_nan": "d['coef']=d['coef'].copy(); d['coef'][:]=np.nan",
 "coef_int": "d['coef']=d['coef'].astype(np.int64)",
 "coef_extra_rows": "d['coef']=np.vstack([d['coef'], d['coef'][:5]])",
 "intercept_short": "d['intercept']=d['intercept'][:5]",
 "intercept_2d": "d['intercept']=d['intercept'][None,:]",
 "intercept_scalar": "d['intercept']=np.array(1.0)",
 "intercept_long": "d['intercept']=np.concatenate([d['intercept'], d['intercept']])",
 "label_short": "d['label']=d['label'][:5]",
 "label_long": "d['label']=np.concatenate([d['label'], d['label']])",
 "label_oob": "d['label']=d['label']+100",
 "label_neg": "d['label']=d['label']-100",
 "label_float": "d['label']=d['label'].astype(float)+0.5",
 "label_allzero": "d['label']=np.zeros_like(d['label'])",
 "label_str": "d['label']=np.array(['a']*13)",
 "a_short": "d['a']=d['a'][:3]",
 "b_short": "d['b']=d['b'][:3]",
 "a_2d": "d['a']=np.tile(d['a'],(2,1))",
 "a_str": "d['a']=np.array(['q']*13)",
 "a_nan": "d['a']=np.full(13,np.nan)",
 "needed_1d": "d['needed_table']=d['needed_table'][:,0]",
 "needed_empty": "d['needed_table']=d['needed_table'][:0]",
 "needed_cols": "d['needed_table']=d['needed_table'][:, :5]",
 "needed_rows1": "d['needed_table']=d['needed_table'][:1]",
 "needed_3d": "d['needed_table']=d['needed_table'][:,:,None]",
 "needed_neg": "d['needed_table']=-d['needed_table']",
 "needed_float": "d['needed_table']=d['needed_table'].astype(float)+0.5",
 "needed_str": "d['needed_table']=np.array([['x']*13]*5)",
 "needed_scalar": "d['needed_table']=np.array(3)",
 "meta_bad_json": "d['meta']=np.array('{not json')",
 "meta_list": "d['meta']=np.array('[1,2]')",
 "meta_bytes": "d['meta']=np.frombuffer(b'abc', dtype=np.uint8)",
 "meta_no_nlabels": "meta.pop('n_labels'); setmeta(meta)",
 "meta_nlabels_str": "meta['n_labels']='x'; setmeta(meta)",
 "meta_nlabels_5": "meta['n_labels']=5; setmeta(meta)",
 "meta_no_blocks": "meta.pop('blocks'); setmeta(meta)",
 "meta_blocks_bad": "meta['blocks']=[{'name':'words'}]; setmeta(meta)",
 "meta_blocks_unknown": "meta['blocks'][0]['name']='zzz'; setmeta(meta)",
 "meta_blocks_width": "meta['blocks'][0]['width']=10; setmeta(meta)",
 "meta_blocks_weight_str": "meta['blocks'][0]['weight']='heavy'; setmeta(meta)",
 "meta_range_bad": "meta['blocks'][1]['range']=[5,2]; setmeta(meta)",
 "meta_range_zero": "meta['blocks'][1]['range']=[0,0]; setmeta(meta)",
 "meta_range_huge": "meta['blocks'][1]['range']=[1,1000]; setmeta(meta)",
 "meta_range_str": "meta['blocks'][1]['range']='ab'; setmeta(meta)",
 "meta_no_preprocess": "meta.pop('preprocess'); setmeta(meta)",
 "meta_maxchars_neg": "meta['preprocess']['max_chars']=-1; setmeta(meta)",
 "meta_maxchars_zero": "meta['preprocess']['max_chars']=0; setmeta(meta)",
 "meta_batch_zero": "meta['preprocess']['batch_size']=0; setmeta(meta)",
 "meta_cache_zero": "meta['preprocess']['cache_chunk']=0; setmeta(meta)",
 "meta_spacy_bad": "meta['preprocess']['spacy_model']='xx_nonexistent_model'; setmeta(meta)",
 "meta_lang_bad": "meta['preprocess']['lang']='zz'; setmeta(meta)",
 "meta_no_cues": "meta.pop('cue_terms'); setmeta(meta)",
 "meta_cues_str": "meta['cue_terms']='abc'; setmeta(meta)",
 "meta_no_decisions": "meta.pop('decisions'); setmeta(meta)",
 "meta_dec_bands_bad": "meta['decisions']['length_bands']=['x']; setmeta(meta)",
 "meta_dec_bands_empty": "meta['decisions']['length_bands']=[]; setmeta(meta)",
 "meta_dec_evidence_bad": "meta['decisions']['evidence']=[[1]]; setmeta(meta)",
 "meta_dec_evidence_empty": "meta['decisions']['evidence']=[]; setmeta(meta)",
 "meta_dec_null_bad": "meta['decisions']['null_rate']='x'; setmeta(meta)",
 "meta_dec_fa_str": "meta['decisions']['false_alarm']='x'; setmeta(meta)",
 "meta_dec_thr_nan": "meta['decisions']['thresholds']=[float('nan')]*13; setmeta(meta)",
 "object_array": "d['evil']=np.array([{'a':1}],dtype=object)",
 "object_coef": "d['coef']=np.array([1,'a',None],dtype=object)",
 "format_4": "d['format']=np.array(4)",
 "format_str": "d['format']=np.array('five')",
 "format_arr": "d['format']=np.array([5,5])",
 "format_float": "d['format']=np.array(5.7)",
 "sealed_bad": "d['sealed']=np.array('{bad')",
 "sealed_list": "d['sealed']=np.array('[]')",
 "words_shape_bad": "d['words.shape']=np.array([1,2])",
 "words_keys_short": "d['words.keys2']=d['words.keys2'][:10]",
 "words_values_oob": "d['words.values2']=d['words.values2']+10**9",
 "words_values_neg": "d['words.values1']=-d['words.values1']-5",
 "words_tokens_garbage": "d['words.tokens']=np.full_like(d['words.tokens'],255)",
 "words_idf_short": "d['words.idf']=d['words.idf'][:10]",
 "chars_idf_short": "d['chars.idf']=d['chars.idf'][:10]",
 "chars_terms_garbage": "d['chars.terms']=np.full_like(d['chars.terms'],255)",
 "chars_terms_empty": "d['chars.terms']=d['chars.terms'][:0]",
 "chars_terms_str": "d['chars.terms']=np.array('abc')",
 "empty_file": "raw_bytes=b''",
 "truncated": ("buf=io.BytesIO(); np.savez(buf, **d); "
               "raw_bytes=buf.getvalue()[:len(buf.getvalue())//2]"),
 "garbage": "raw_bytes=b'PK\\x03\\x04'+b'\\x00'*100",
 "notzip": "raw_bytes=b'hello world'",
 "npy_not_npz": "buf=io.BytesIO(); np.save(buf, d['coef'][:3]); raw_bytes=buf.getvalue()",
 "compressed": "buf=io.BytesIO(); np.savez_compressed(buf, **d); raw_bytes=buf.getvalue()",
}


def _tamper(src: Path, dst: Path, case: str) -> None:
    shutil.copytree(src, dst)
    path = dst / SCORER_FILE
    with np.load(path, allow_pickle=False) as data:
        d = {k: data[k] for k in data.files}
    meta = json.loads(str(d["meta"]))

    def setmeta(m):
        d["meta"] = np.array(json.dumps(m))

    scope = {"d": d, "meta": meta, "setmeta": setmeta, "np": np, "io": io,
             "raw_bytes": None}
    exec(CASES[case], scope)
    raw = scope["raw_bytes"]
    if raw is None:
        buf = io.BytesIO()
        np.savez(buf, **scope["d"])
        raw = buf.getvalue()
    path.write_bytes(raw)
    card = json.loads((dst / CARD_FILE).read_text(encoding="utf-8"))
    card["files"][SCORER_FILE] = hashlib.sha256(raw).hexdigest()
    (dst / CARD_FILE).write_text(json.dumps(card), encoding="utf-8")


def _answers(model):
    scored = model.score_sentences(TEXTS)
    return scored.scores, model.decide(scored)


@pytest.fixture(scope="module")
def reference(model_dir):
    return _answers(load_model(model_dir, estimator=False))


@pytest.mark.parametrize("case", sorted(c for c in CASES if c != "noop"))
def test_a_tampered_scorer_is_refused_or_changes_nothing(model_dir, tmp_path, reference,
                                                         case):
    _tamper(model_dir, tmp_path / "m", case)
    try:
        got = _answers(load_model(tmp_path / "m", estimator=False))
    except PipelineError as err:
        assert "\n" not in str(err)
        return
    np.testing.assert_allclose(got[0], reference[0], atol=1e-9)
    for a, b in zip(got[1], reference[1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_info_refuses_a_scorer_that_disagrees_with_the_estimator(model_dir, tmp_path):
    """Scores scaled by a finite factor pass every shape check; loading the estimator
    compares the two and refuses."""
    dst = tmp_path / "m"
    shutil.copytree(model_dir, dst)
    CASES["coef_scaled"] = "d['coef'] = d['coef'] * 1.5"
    try:
        shutil.rmtree(dst)
        _tamper(model_dir, dst, "coef_scaled")
    finally:
        del CASES["coef_scaled"]
    with pytest.raises(PipelineError, match="gives other scores"):
        load_model(dst)


def test_card_versions_not_a_mapping_is_a_one_line_error(model_dir, tmp_path):
    dst = tmp_path / "m"
    shutil.copytree(model_dir, dst)
    card = json.loads((dst / CARD_FILE).read_text(encoding="utf-8"))
    card["versions"] = "abc"
    (dst / CARD_FILE).write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(PipelineError, match="versions"):
        load_model(dst, estimator=False)


def _cli(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True,
                          text=True, timeout=300, **kwargs)


def test_n_jobs_is_capped_at_the_usable_cores(model_dir, tmp_path):
    doc = tmp_path / "doc.txt"
    doc.write_text(TEXTS[0], encoding="utf-8")
    out = tmp_path / "out.jsonl"
    done = _cli(["predict", str(doc), "--model", str(model_dir), "--out", str(out),
                 "--n-jobs", "5000", "-q"])
    assert done.returncode == 0, done.stderr
    assert "--n-jobs 5000" in done.stderr and "Traceback" not in done.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1


def test_a_full_or_closed_stdout_is_a_one_line_error(model_dir, tmp_path):
    doc = tmp_path / "doc.txt"
    doc.write_text(TEXTS[0], encoding="utf-8")
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "pipeline", "predict", str(doc),
                               "--model", str(model_dir), "-q"], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ")
    done = subprocess.run(f"{sys.executable} -m pipeline predict {doc} --model {model_dir} "
                          "-q >&-", shell=True, capture_output=False, stderr=subprocess.PIPE,
                          text=True, timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_a_closed_stderr_still_writes_the_output(model_dir, tmp_path):
    doc = tmp_path / "doc.txt"
    doc.write_text(TEXTS[0], encoding="utf-8")
    out = tmp_path / "out.jsonl"
    done = subprocess.run(f"{sys.executable} -m pipeline predict {doc} --model {model_dir} "
                          f"--out {out} 2>&-", shell=True, timeout=300)
    assert done.returncode == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1


def test_a_scorer_that_is_a_directory_is_named_as_such(model_dir, tmp_path):
    dst = tmp_path / "m"
    shutil.copytree(model_dir, dst)
    (dst / SCORER_FILE).unlink()
    (dst / SCORER_FILE).mkdir()
    with pytest.raises(PipelineError, match="a directory, not the scorer file"):
        load_model(dst, estimator=False)
