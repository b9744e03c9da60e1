#!/bin/bash
# End-to-end test of iodine-train (and of iodine info / decompose / eval on
# the weights it writes), on a tiny architecture at 16×16 so that every run
# takes a fraction of a second.
#
# Checks: a short run writes weights with provenance and without optimizer
# state, a checkpoint with it, a CSV log with validation FG-ARI and a plot;
# N steps + resume to 2N equals 2N steps in one run (tensors byte for byte);
# SIGINT exits 130 with a loadable checkpoint that --resume continues, SIGTERM
# 143; bad usage exits 2 with a message; the weights decompose an image and
# evaluate.
set -u

BUILD=${IODINE_BUILD_DIR:?IODINE_BUILD_DIR must be set}
TRAIN=$BUILD/engine/iodine-train
IODINE=$BUILD/engine/iodine
export OPENBLAS_NUM_THREADS=1
# Under LeakSanitizer: the project's suppressions (fontconfig's caches, from
# the cairo text in --plot) unless the caller gave some.
SRC=${IODINE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
case ${LSAN_OPTIONS:-} in
  *suppressions=*) ;;
  *) export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$SRC/scripts/lsan.supp" ;;
esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/test-train-cli-XXXXXX")
BG_PID=
cleanup () {
  if [ -n "$BG_PID" ] && kill -0 "$BG_PID" 2>/dev/null; then
    kill "$BG_PID" 2>/dev/null
    wait "$BG_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK" || exit 1

FAILED=0
fail () {
  echo "FAIL: $*"
  FAILED=$((FAILED + 1))
}
pass () {
  echo "ok: $*"
}

TINY=(--size 16x16 --slots 2 --iterations 2 --latent 4 --dec-channels 4 --dec-layers 2
      --ref-channels 4 --ref-layers 2 --mlp 8 --batch 2 --threads 1)

# Python helpers, in as few interpreter starts as possible (each is slow):
#   headers F...   writes F.hdr: the tensor names, then "META key=value" lines
#   same A B ...   each pair: the same tensors byte for byte and the same
#                  metadata except train_wall_s (wall-clock time)
#   png F          writes a 24×24 RGB scene with two squares
#   average C W    W's tensors are C's average.* tensors byte for byte, and
#                  differ from C's training weights
cat > tools.py <<'EOF'
import json, struct, sys, zlib

def load(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        h = json.loads(f.read(n))
        data = f.read()
    return h, data

def headers(paths):
    for p in paths:
        h, _ = load(p)
        with open(p + '.hdr', 'w') as out:
            for k, v in h.items():
                if k != '__metadata__':
                    out.write(k + '\n')
            for mk, mv in h.get('__metadata__', {}).items():
                out.write('META %s=%s\n' % (mk, mv))

def same(paths):
    bad = 0
    for a, b in zip(paths[::2], paths[1::2]):
        (ha, da), (hb, db) = load(a), load(b)
        ma, mb = ha.pop('__metadata__', {}), hb.pop('__metadata__', {})
        ma.pop('train_wall_s', None)
        mb.pop('train_wall_s', None)
        if ha != hb or da != db:
            print('%s and %s: tensors differ' % (a, b))
            bad = 1
        elif ma != mb:
            print('%s and %s: metadata differs: %s'
                  % (a, b, sorted(set(ma.items()) ^ set(mb.items()))))
            bad = 1
        else:
            print('%s = %s' % (a, b))
    return bad

def average(ckpt, weights):
    (hc, dc), (hw, dw) = load(ckpt), load(weights)
    hw.pop('__metadata__', None)
    differs = False
    for name, v in hw.items():
        a, t = hc.get('average.' + name), hc[name]
        if a is None or a['shape'] != v['shape']:
            print('%s: no average.%s of shape %s' % (ckpt, name, v['shape']))
            return 1
        ours = dw[v['data_offsets'][0]:v['data_offsets'][1]]
        if dc[a['data_offsets'][0]:a['data_offsets'][1]] != ours:
            print('%s: %s is not the average' % (weights, name))
            return 1
        differs |= dc[t['data_offsets'][0]:t['data_offsets'][1]] != ours
    if not differs:
        print('%s: the average equals the training weights' % ckpt)
        return 1
    print('%s = the average in %s' % (weights, ckpt))
    return 0

def png(path):
    w = h = 24
    rows = []
    for y in range(h):
        row = bytearray([0])
        for x in range(w):
            if 3 <= x < 11 and 4 <= y < 12:
                row += bytes((220, 40, 40))
            elif 13 <= x < 21 and 12 <= y < 20:
                row += bytes((40, 200, 60))
            else:
                row += bytes((10, 10, 10))
        rows.append(bytes(row))
    def chunk(t, d):
        return (struct.pack('>I', len(d)) + t + d
                + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff))
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n'
                + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
                + chunk(b'IDAT', zlib.compress(b''.join(rows))) + chunk(b'IEND', b''))

# commands separated by "+"
status = 0
args = sys.argv[1:]
while args:
    cmd, rest = args[0], args[1:]
    end = rest.index('+') if '+' in rest else len(rest)
    operands, args = rest[:end], rest[end + 1:]
    if cmd == 'headers':
        headers(operands)
    elif cmd == 'same':
        status |= same(operands)
    elif cmd == 'png':
        png(operands[0])
    elif cmd == 'average':
        status |= average(*operands)
sys.exit(status)
EOF

# --- a short run: weights, checkpoint, log, validation, plot ---------------
"$TRAIN" "${TINY[@]}" --steps 4 --checkpoint c --out w --log run.csv --log-every 1 \
    --validate-every 2 --val-count 4 --plot curves.png > run.out 2> run.err
rc=$?
if [ $rc -eq 0 ] && [ -s w ] && [ -s c ]; then pass "4 steps: exit 0, weights and checkpoint"
else fail "4 steps: exit $rc"; cat run.err; fi

"$IODINE" info w > info.txt 2> info.err
rc=$?
if [ $rc -eq 0 ] && grep -Eq '^ +dataset +tetrominoes$' info.txt \
   && grep -Eq '^ +train_steps +4$' info.txt && grep -Eq '^ +train_seed +1$' info.txt \
   && grep -Eq 'training size +16×16' info.txt && grep -Eq '^ +fg_ari +[0-9.]+$' info.txt; then
  pass "iodine info shows the provenance"
else fail "iodine info (exit $rc):"; cat info.txt info.err; fi

python3 tools.py headers w c + png scene.png || fail "cannot read w and c, or write scene.png"
if grep -q '^adam\.' w.hdr; then fail "weights file holds adam.* tensors"
else pass "weights file has no adam.* tensors"; fi
if grep -q '^META train\.' w.hdr; then fail "weights file holds train.* metadata"
else pass "weights file has no train.* metadata"; fi
n_w=$(grep -vc '^META' w.hdr)

n_m=$(grep -c '^adam\.m\.' c.hdr)
n_v=$(grep -c '^adam\.v\.' c.hdr)
if [ "$n_m" -eq "$n_w" ] && [ "$n_v" -eq "$n_w" ] && grep -qx 'META train.step=4' c.hdr \
   && grep -qx 'META train.dataset=tetrominoes' c.hdr && grep -qx 'META train.batch=2' c.hdr; then
  pass "checkpoint: $n_w weights, $n_m adam.m, $n_v adam.v, train.step=4"
else fail "checkpoint contents (weights $n_w, adam.m $n_m, adam.v $n_v)"; grep META c.hdr; fi

want_header='step,loss,nll,kl,grad_norm,images_per_s,val_fg_ari,val_mse,lr,elapsed_s,val_purity,geco_lambda'
if [ "$(head -n 1 run.csv)" = "$want_header" ] && [ "$(wc -l < run.csv)" -eq 5 ] \
   && [ "$(cut -d, -f1 run.csv | tail -n +2 | tr '\n' ' ')" = "1 2 3 4 " ] \
   && awk -F, 'NR > 1 && NF != 12 { bad = 1 } END { exit bad }' run.csv; then
  pass "CSV header and 4 rows of 12 fields"
else fail "CSV log:"; cat run.csv; fi

# validation rows (steps 2 and 4) carry an FG-ARI in [0, 1], the others none
if awk -F, 'NR == 1 { next }
            ($1 % 2 == 0) && !($7 != "" && $7 >= 0 && $7 <= 1 && $8 != "") { bad = 1 }
            ($1 % 2 == 1) && ($7 != "" || $8 != "") { bad = 1 }
            END { exit bad }' run.csv; then
  pass "val_fg_ari at the validation steps"
else fail "val_fg_ari column:"; cat run.csv; fi

if [ "$(head -c 8 curves.png | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]; then
  pass "--plot writes a PNG"
else fail "--plot did not write a PNG"; fi

# --- N steps, then resume to 2N, equals 2N in one run -----------------------
# (with validation every 2 steps, which must not disturb the training stream)
VAL=(--validate-every 2 --val-count 2 --log-every 1)
"$TRAIN" "${TINY[@]}" "${VAL[@]}" --seed 7 --steps 6 --checkpoint full.ckpt --out full.st \
    --log full.csv > /dev/null 2> full.err || { fail "6 steps in one run"; cat full.err; }
"$TRAIN" "${TINY[@]}" "${VAL[@]}" --seed 7 --steps 3 --checkpoint half.ckpt --log half.csv \
    > /dev/null 2> half.err || { fail "3 steps"; cat half.err; }
"$TRAIN" --resume half.ckpt "${VAL[@]}" --steps 6 --checkpoint half.ckpt --out resumed.st \
    --log half.csv --threads 1 > /dev/null 2> resumed.err || { fail "resume 3 → 6"; cat resumed.err; }
if python3 tools.py same full.st resumed.st full.ckpt half.ckpt; then
  pass "3 steps + resume to 6 = 6 steps: weights and checkpoints (tensors byte for byte, metadata but the wall time)"
else fail "the resumed run differs from the uninterrupted one"; fi
grep -q 'from step 3 to 6' resumed.err || fail "resume does not say it starts at step 3"
# the log goes on where it stopped: same rows but for speed and time
if [ "$(cut -d, -f1-5,7-9,11- full.csv)" = "$(cut -d, -f1-5,7-9,11- half.csv)" ]; then
  pass "the resumed log continues the first (7 lines)"
else fail "resumed log differs:"; paste -d'|' full.csv half.csv; fi

# --- resuming with a new learning rate and GECO -----------------------------
# changes the run from its next step on, logs it and records it in the weights
cp half.ckpt fork.ckpt
"$TRAIN" --resume fork.ckpt --steps 8 --lr 1e-4 --geco-target -1e6 --geco-step 1e-5 \
    --checkpoint fork.ckpt --out fork.st --log fork.csv --log-every 1 --threads 1 \
    > /dev/null 2> fork.err || { fail "resume with --lr and --geco-target"; cat fork.err; }
if awk -F, 'NR > 1 { if ($9 != "0.0001") bad = 1; lam[NR] = $12 }
            END { if (NR != 3 || !(lam[3] > lam[2]) || lam[2] != "1.0000") bad = 1; exit bad }' fork.csv \
   && "$IODINE" info fork.st | grep -q 'train_history.*step 6: lr 0.0003 → 0.0001, GECO off → target -1e+06'; then
  pass "--resume with --lr and --geco-target: new lr, λ rising from 1, train_history in the weights"
else fail "resume with changed schedule:"; cat fork.csv; "$IODINE" info fork.st; fi
"$TRAIN" --resume fork.ckpt --steps 9 --checkpoint fork.ckpt --threads 1 > /dev/null 2> fork2.err
if "$IODINE" info fork.ckpt | grep -q 'lr 0.0001, .*GECO target -1e+06' \
   && [ "$("$IODINE" info fork.ckpt | grep -c 'step 6: lr')" = 1 ]; then
  pass "a plain --resume keeps the changed options and the history once"
else fail "plain resume after a change"; "$IODINE" info fork.ckpt; fi

# --- setting GECO's λ by hand: the next step weights the NLL by it -----------
cp fork.ckpt lam.ckpt
"$TRAIN" --resume lam.ckpt --steps 11 --geco-lambda 8 --geco-step 1e-12 --checkpoint lam.ckpt \
    --log lam.csv --log-every 1 --threads 1 > /dev/null 2> lam.err || { fail "resume with --geco-lambda 8"; cat lam.err; }
if awk -F, 'NR > 1 { if ($12 != "8.0000") bad = 1 } END { exit bad || NR != 3 }' lam.csv \
   && "$IODINE" info lam.ckpt | grep -q 'train_history.*step 9: GECO λ .* → 8'; then
  pass "--resume --geco-lambda 8 --geco-step 1e-12: λ 8 from the next step on, recorded in train_history"
else fail "resume with --geco-lambda"; cat lam.err lam.csv; "$IODINE" info lam.ckpt; fi
"$TRAIN" --resume half.ckpt --steps 7 --geco-lambda 8 --threads 1 > /dev/null 2> lamoff.err
rc=$?
if [ $rc -eq 2 ] && grep -q -- '--geco-target' lamoff.err; then
  pass "--geco-lambda in a run without GECO: exit 2, “$(head -n 1 lamoff.err)”"
else fail "--geco-lambda without GECO: exit $rc"; cat lamoff.err; fi
"$TRAIN" --resume fork.ckpt --steps 10 --geco-lambda 0.5 --threads 1 > /dev/null 2> lambad.err
rc=$?
if [ $rc -eq 2 ] && grep -q 'between 1 and 1e6, not 0.5' lambad.err; then
  pass "--geco-lambda 0.5: exit 2, the range named"
else fail "--geco-lambda 0.5: exit $rc"; cat lambad.err; fi

# --- a moving average of the weights: kept in the checkpoint, validated
# and written to --out, while training goes on with the weights themselves
cp half.ckpt avg.ckpt
"$TRAIN" --resume avg.ckpt --steps 8 --average-decay 0.5 --checkpoint avg.ckpt --out avg.st \
    --threads 1 > /dev/null 2> avg.err || { fail "resume with --average-decay"; cat avg.err; }
if python3 tools.py average avg.ckpt avg.st \
   && "$IODINE" info avg.st | grep -q 'train_history.*step 6: weight average off → 0.5' \
   && "$IODINE" info avg.st | grep -q 'train_options.*weight average 0.5'; then
  pass "--average-decay 0.5: the checkpoint keeps the average, --out writes it, train_history says so"
else fail "weight average"; cat avg.err; "$IODINE" info avg.st; fi
"$TRAIN" --resume avg.ckpt --steps 9 --average-decay 1 --threads 1 > /dev/null 2> avg1.err
rc=$?
if [ $rc -eq 2 ] && grep -q "weight average's decay must be in \[0, 1)" avg1.err; then
  pass "--average-decay 1: exit 2, the decay's range named"
else fail "--average-decay 1: exit $rc"; cat avg1.err; fi

# --- --out-iterations: the weights' default T, training's own unchanged
"$TRAIN" --resume avg.ckpt --steps 8 --out t10.st --out-iterations 10 --threads 1 \
    > /dev/null 2> t10.err || { fail "--out-iterations 10"; cat t10.err; }
if "$IODINE" info t10.st | grep -Eq '^ +iterations T +10$' \
   && "$IODINE" info t10.st | grep -q 'train_options.*K 2, T 2' \
   && "$IODINE" info avg.ckpt | grep -Eq '^ +iterations T +2$'; then
  pass "--out-iterations 10: the weights run with T 10 by default, trained with T 2"
else fail "--out-iterations"; "$IODINE" info t10.st; fi
for bad in 0 101; do
  "$TRAIN" --resume avg.ckpt --steps 8 --out t.st --out-iterations $bad > /dev/null 2> tbad.err
  rc=$?
  if [ $rc -eq 2 ] && grep -q -- "--out-iterations must be between 1 and 100, not $bad" tbad.err && [ ! -e t.st ]; then
    pass "--out-iterations $bad: exit 2, the range named"
  else fail "--out-iterations $bad: exit $rc"; cat tbad.err; fi
done

# --- resuming at another image size (a curriculum): same run, new size ----
cp half.ckpt grow.ckpt
"$TRAIN" --resume grow.ckpt --steps 8 --size 20x18 --checkpoint grow.ckpt --out grow.st \
    --threads 1 > /dev/null 2> grow.err || { fail "resume with --size"; cat grow.err; }
if grep -q '20×18, from step 6 to 8' grow.err && "$IODINE" info grow.st | grep -q 'training size   20×18' \
   && "$IODINE" info grow.ckpt | grep -q 'train_history.*step 6: size .* → 20×18' \
   && "$IODINE" info grow.ckpt | grep -Eq '^ +train_steps +8$'; then
  pass "--resume --size 20x18 goes on at 20×18 from step 6, recorded in train_history"
else fail "resume at another size"; cat grow.err; "$IODINE" info grow.ckpt; fi

# --- another batch size: the data go on where the old size stopped -------------
cp half.ckpt batch.ckpt
"$TRAIN" --resume batch.ckpt --steps 8 --batch 3 --checkpoint batch.ckpt --threads 1 \
    > /dev/null 2> batch.err || { fail "resume with --batch 3"; cat batch.err; }
if grep -q 'batch 3, ' batch.err && "$IODINE" info batch.ckpt | grep -q 'train_history.*step 6: batch 2 → 3' \
   && python3 tools.py headers batch.ckpt && grep -qx 'META train.sample_base=12' batch.ckpt.hdr; then
  pass "--resume --batch 3 goes on with 3 scenes a step from scene 12, recorded in train_history"
else fail "resume with another batch size"; cat batch.err; "$IODINE" info batch.ckpt; fi

# --- another T (a curriculum on T, or the T used at test time) -----------------
cp half.ckpt iter.ckpt
"$TRAIN" --resume iter.ckpt --steps 8 --iterations 3 --checkpoint iter.ckpt --out iter.st \
    --threads 1 > /dev/null 2> iter.err || { fail "resume with --iterations 3"; cat iter.err; }
if grep -q 'K 2, T 3, ' iter.err && "$IODINE" info iter.ckpt | grep -q 'train_history.*step 6: T 2 → 3' \
   && "$IODINE" info iter.st | grep -Eq '^ +iterations T +3$' \
   && python3 tools.py headers iter.ckpt && grep -qx 'META train.iterations=3' iter.ckpt.hdr; then
  pass "--resume --iterations 3 trains with T 3 from step 6, recorded in train_history and the weights' T"
else fail "resume with another T"; cat iter.err; "$IODINE" info iter.ckpt; fi

# --- a curriculum on the hard tetrominoes scenes: same run, other draws ------
cp half.ckpt hard.ckpt
"$TRAIN" --resume hard.ckpt --steps 8 --dataset tetrominoes:touching=0.5 --checkpoint hard.ckpt \
    --out hard.st --threads 1 > /dev/null 2> hard.err || { fail "resume with --dataset tetrominoes:touching=0.5"; cat hard.err; }
if "$IODINE" info hard.ckpt | grep -q 'train_history.*step 6: dataset tetrominoes → tetrominoes:touching=0.5' \
   && "$IODINE" info hard.st | grep -Eq '^ +dataset +tetrominoes$' \
   && "$IODINE" info hard.st | grep -Eq '^ +train_steps +8$'; then
  pass "--resume --dataset tetrominoes:touching=0.5 goes on with the curriculum, recorded in train_history; the weights say tetrominoes"
else fail "resume with a curriculum"; cat hard.err; "$IODINE" info hard.ckpt; fi
"$TRAIN" --resume hard.ckpt --steps 9 --dataset multi-dsprites --threads 1 > /dev/null 2> hardbad.err
rc=$?
if [ $rc -eq 2 ] && grep -q 'dataset' hardbad.err; then
  pass "--resume --dataset multi-dsprites of a tetrominoes run: exit 2, “$(head -n 1 hardbad.err)”"
else fail "--resume with another dataset: exit $rc"; cat hardbad.err; fi

# --- fine-tuning at another size and K (the weights are independent of both)
"$TRAIN" --init w --dataset tetrominoes --size 20x18 --slots 3 --steps 2 --batch 2 \
    --out tuned.st --threads 1 > /dev/null 2> tuned.err || { fail "--init with --size and --slots"; cat tuned.err; }
if "$IODINE" info tuned.st | grep -q 'training size   20×18' && "$IODINE" info tuned.st | grep -q 'slots K         3' \
   && grep -q '3, T 2, 20×18' tuned.err \
   && "$IODINE" info tuned.st | grep -Eq 'init_weights +w \(tetrominoes, 4 steps\)' \
   && "$IODINE" info tuned.st | grep -Eq '^ +train_steps +2$'; then
  pass "--init w --size 20x18 --slots 3 fine-tunes at 20×18 with K 3"
else fail "fine-tuning at another size"; cat tuned.err; "$IODINE" info tuned.st; fi

# --- SIGINT: exit 130, a loadable checkpoint, and --resume continues -------
"$TRAIN" "${TINY[@]}" --steps 1000000 --checkpoint int.ckpt --checkpoint-every 5 \
    > /dev/null 2> int.err &
BG_PID=$!
for _ in $(seq 200); do
  [ -s int.ckpt ] && break
  sleep 0.05
done
kill -INT "$BG_PID"
wait "$BG_PID"
rc=$?
BG_PID=
if [ $rc -eq 130 ] && grep -q 'interrupted at step' int.err; then pass "SIGINT: exit 130"
else fail "SIGINT: exit $rc"; cat int.err; fi
if "$IODINE" info int.ckpt > int.info 2>&1; then pass "the interrupted checkpoint loads"
else fail "iodine info on the interrupted checkpoint"; cat int.info; fi
stopped=$(sed -n 's/.*interrupted at step \([0-9]*\).*/\1/p' int.err)
if grep -Eq "^ +train_steps +$stopped\$" int.info; then
  pass "the checkpoint is of step $stopped, where it stopped"
else fail "checkpoint step (stopped at '$stopped')"; cat int.info; fi
target=$((stopped + 2))
"$TRAIN" --resume int.ckpt --steps "$target" --checkpoint int.ckpt --out int.st --threads 1 \
    > /dev/null 2> int2.err
rc=$?
if [ $rc -eq 0 ] && grep -q "from step $stopped to $target" int2.err \
   && "$IODINE" info int.st | grep -Eq "^ +train_steps +$target\$"; then
  pass "--resume continues from step $stopped to $target"
else fail "--resume after SIGINT (exit $rc)"; cat int2.err; fi

# SIGTERM: the same, with 143
"$TRAIN" "${TINY[@]}" --steps 1000000 --checkpoint term.ckpt --checkpoint-every 2 \
    > /dev/null 2> term.err &
BG_PID=$!
for _ in $(seq 200); do
  [ -s term.ckpt ] && break
  sleep 0.05
done
kill -TERM "$BG_PID"
wait "$BG_PID"
rc=$?
BG_PID=
if [ $rc -eq 143 ] && "$IODINE" info term.ckpt > /dev/null 2>&1; then
  pass "SIGTERM: exit 143, the checkpoint loads"
else fail "SIGTERM: exit $rc"; cat term.err; fi

# --- bad usage: exit 2 with a message ---------------------------------------
expect_usage () {
  local what=$1 pattern=$2
  shift 2
  "$@" > usage.out 2> usage.err
  local rc=$?
  if [ $rc -eq 2 ] && grep -qi -- "$pattern" usage.err; then pass "$what: exit 2, “$(head -n 1 usage.err)”"
  else fail "$what: exit $rc, expected 2 and a message matching '$pattern'"; cat usage.err; fi
}
head -c 300 c > corrupt.ckpt
expect_usage "unknown --config" "unknown configuration" "$TRAIN" --config nonsense --steps 1
expect_usage "--size 1x1" "--size" "$TRAIN" "${TINY[@]}" --size 1x1 --steps 1
expect_usage "--mlp abc" "--mlp" "$TRAIN" "${TINY[@]}" --mlp abc --steps 1
expect_usage "--resume of a missing file" "missing.ckpt" "$TRAIN" --resume missing.ckpt --steps 1
expect_usage "--resume of a corrupt file" "corrupt.ckpt" "$TRAIN" --resume corrupt.ckpt --steps 1
expect_usage "--resume of plain weights" "not a training checkpoint" "$TRAIN" --resume w --steps 1
expect_usage "--resume with --config" "--resume" "$TRAIN" --resume c --config tetrominoes
expect_usage "--resume with --seed" "--seed" "$TRAIN" --resume c --seed 4
expect_usage "--resume with --batch 0" "--batch must be positive" "$TRAIN" --resume c --batch 0 --steps 9
expect_usage "--resume with --batch 5000" "batch size must be between 1 and 4096" "$TRAIN" --resume c --batch 5000 --steps 9
expect_usage "--resume with --slots" "architecture" "$TRAIN" --resume c --slots 5
expect_usage "--resume with --iterations 0" "--iterations must be positive" "$TRAIN" --resume c --iterations 0 --steps 9
expect_usage "--resume with --iterations 101" "iterations must be between 1 and 100" "$TRAIN" --resume c --iterations 101 --steps 9
expect_usage "--resume with --size 1x1" "--size" "$TRAIN" --resume c --size 1x1 --steps 1
expect_usage "--init with --dec-channels" "architecture from its weights" "$TRAIN" --init w --dec-channels 8
expect_usage "unknown option" "--frobnicate" "$TRAIN" --frobnicate
[ -e missing.ckpt ] && fail "a failed --resume created missing.ckpt"

# --- the weights in use: decompose a generated PNG, evaluate ---------------
"$IODINE" decompose --weights w --output out.safetensors --png-dir slots scene.png \
    > dec.out 2> dec.err
rc=$?
n_png=$(find slots -name '*.png' 2>/dev/null | wc -l)
if [ $rc -eq 0 ] && [ -s out.safetensors ] && [ "$n_png" -ge 2 ] \
   && grep -qa '"masks"' out.safetensors; then
  pass "iodine decompose: exit 0, tensors and $n_png PNGs"
else fail "iodine decompose (exit $rc, $n_png PNGs)"; cat dec.out dec.err; fi

# --restarts 3 keeps a run no worse than restart 0, which is the plain run
# of the same seed (tests/engine/test-restarts.c checks the choice exactly)
"$IODINE" decompose --weights w --seed 7 --output one.safetensors scene.png > r1.out 2> r1.err
rc1=$?
"$IODINE" decompose --weights w --seed 7 --restarts 3 --verbose --output three.safetensors \
    scene.png > r3.out 2> r3.err
rc3=$?
check=$(python3 - one.safetensors three.safetensors <<'PY'
import json, struct, sys
def final_loss_and_meta(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        h = json.loads(f.read(n))
        data = f.read()
    a, b = h['loss']['data_offsets']
    losses = struct.unpack('<%df' % ((b - a) // 4), data[a:b])
    return losses[-1], h['__metadata__']
l1, m1 = final_loss_and_meta(sys.argv[1])
l3, m3 = final_loss_and_meta(sys.argv[2])
problems = []
if m1.get('restarts') != '1' or m3.get('restarts') != '3':
    problems.append('metadata restarts %s, %s' % (m1.get('restarts'), m3.get('restarts')))
if not l3 <= l1:
    problems.append('final loss %.3f with 3 restarts, %.3f with one' % (l3, l1))
print('; '.join(problems) or 'ok')
PY
)
if [ $rc1 -eq 0 ] && [ $rc3 -eq 0 ] && [ "$check" = ok ] && grep -q '^restart 3/3  iteration' r3.err; then
  pass "iodine decompose --restarts 3: a final loss no higher than one run's, restarts in the metadata and the progress"
else fail "iodine decompose --restarts (exit $rc1, $rc3): $check"; cat r1.err r3.err; fi

"$IODINE" eval --weights w --dataset tetrominoes --count 4 > eval.out 2> eval.err
rc=$?
if [ $rc -eq 0 ] && grep -Eq '^FG-ARI +[-0-9.]+' eval.out; then
  pass "iodine eval: $(grep FG-ARI eval.out)"
else fail "iodine eval (exit $rc)"; cat eval.out eval.err; fi

# --scores: one line per scene, whose FG-ARI and MSE average to what eval prints
"$IODINE" eval --weights w --dataset tetrominoes --count 5 --scores scores.csv > eval5.out 2> eval5.err
rc=$?
check=$(python3 - eval5.out scores.csv <<'PY'
import csv, re, sys
out = open(sys.argv[1]).read()
ari = float(re.search(r'^FG-ARI +([-0-9.]+)', out, re.M).group(1))
mse = float(re.search(r'^MSE +([-0-9.]+)', out, re.M).group(1))
rows = list(csv.DictReader(open(sys.argv[2])))
problems = []
if [r['scene'] for r in rows] != [str(i) for i in range(5)]:
    problems.append('scenes %s' % [r['scene'] for r in rows])
if list(rows[0].keys()) != ['scene', 'fg_ari', 'mse', 'purity', 'objects']:
    problems.append('columns %s' % list(rows[0].keys()))
if any(r['objects'] != '3' for r in rows):
    problems.append('objects %s' % [r['objects'] for r in rows])
if any(not 0.0 <= float(r['purity']) <= 1.0 for r in rows):
    problems.append('purity out of [0, 1]')
mean_ari = sum(float(r['fg_ari']) for r in rows) / len(rows)
mean_mse = sum(float(r['mse']) for r in rows) / len(rows)
if abs(mean_ari - ari) > 6e-5 or abs(mean_mse - mse) > 6e-7:
    problems.append('means %.5f %.7f, printed %.4f %.6f' % (mean_ari, mean_mse, ari, mse))
print('; '.join(problems) or 'ok')
PY
)
if [ $rc -eq 0 ] && [ "$check" = ok ]; then
  pass "iodine eval --scores: 5 scenes whose means are the printed FG-ARI and MSE"
else fail "iodine eval --scores (exit $rc): $check"; cat eval5.out eval5.err; fi

if [ $FAILED -ne 0 ]; then
  echo "$FAILED checks failed"
  exit 1
fi
echo "all checks passed"
