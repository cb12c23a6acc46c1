#!/usr/bin/env node
// Reference runner: executes @vladmandic/face-api's own networks (TF.js, WASM backend, one thread)
// on raw pixels, so the LibTorch port can be compared against it (parity tests).
// It decodes no image files: the caller (our C++ side) decodes JPEG/PNG and writes raw pixels,
// so both implementations see exactly the same pixels.
//
// INPUT FORMAT (--input FILE), a plain concatenation of records, one per image, nothing else:
//   u32 height   (little-endian)
//   u32 width    (little-endian)
//   height*width*3 bytes: RGB, uint8, row-major (row 0 first), channels interleaved R,G,B
// With --input-float the pixel block is instead height*width*3 little-endian float32 values,
// still RGB in 0..255 (no normalisation). Use it to hand face-api an image that the caller has
// already resized to the net's input size (e.g. 150x150 for `descriptor`, 112x112 for
// `age_gender`/`landmarks68*`): face-api skips its pad+resize when the input is already square and
// of that size, so only the network itself is compared.
// Images must have height, width >= 1 and height*width <= 2^26.
//
// CLI:
//   node face_api_ref.mjs --task TASK --models DIR --input FILE [--out result.json]
//        [--input-float] [--min-score S] [--max-results N] [--input-size N] [--threads 1]
//   TASK: descriptor | age_gender | ssd | tiny | landmarks68 | landmarks68_tiny
//   DIR : folder with the *-weights_manifest.json + shards (scripts/fetch_face_models.sh)
//   --min-score   ssd: minConfidence (face-api default 0.5); tiny: scoreThreshold (default 0.5)
//   --max-results ssd only (default 100)
//   --input-size  tiny only (multiple of 32, default 416); ssd always runs at 512x512
//   Without --out the JSON goes to stdout.
//
// Each image is processed on its own (batch of 1) through face-api's public per-net entry points:
//   descriptor       faceRecognitionNet.computeFaceDescriptor(image)   -> 128 floats; the whole image is
//                    the face (no detection, no alignment)
//   age_gender       ageGenderNet.predictAgeAndGender(image)           -> age (years), gender, probability
//   ssd              ssdMobilenetv1.locateFaces(image, SsdMobilenetv1Options)
//   tiny             tinyFaceDetector.locateFaces(image, TinyFaceDetectorOptions)
//   landmarks68[_tiny] faceLandmark68Net / faceLandmark68TinyNet .detectLandmarks(image): the whole
//                    image is the face box; points in pixels of the input image
//
// OUTPUT (JSON): {"task", "backend":"wasm", "threads", "versions", "options", "images", "load_seconds",
//   "seconds" (inference wall time for all images, excluding model loading), "results":[one per image]}
//   descriptor:        {"height","width","descriptor":[128 floats]}
//   age_gender:        {"height","width","age","gender":"male"|"female","gender_probability","male_probability"}
//   ssd / tiny:        {"height","width","detections":[{"score","box":[x,y,width,height]}]}  (pixels, score-sorted
//                      as face-api returns them)
//   landmarks68[_tiny]:{"height","width","points":[[x,y] x 68]}
// Exit codes: 0 ok, 1 runtime failure, 2 usage error.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

const TASKS = ['descriptor', 'age_gender', 'ssd', 'tiny', 'landmarks68', 'landmarks68_tiny'];

class UsageError extends Error {}

function parseArgs(argv) {
  const opts = { threads: 1, inputFloat: false };
  const takes = { '--task': 'task', '--models': 'models', '--input': 'input', '--out': 'out',
    '--min-score': 'minScore', '--max-results': 'maxResults', '--input-size': 'inputSize', '--threads': 'threads' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--input-float') { opts.inputFloat = true; continue; }
    if (a === '-h' || a === '--help') { opts.help = true; continue; }
    const key = takes[a];
    if (!key) throw new UsageError(`unknown argument ${a}`);
    if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
    opts[key] = argv[++i];
  }
  if (opts.help) return opts;
  for (const k of ['task', 'models', 'input']) if (!opts[k]) throw new UsageError(`--${k} is required`);
  if (!TASKS.includes(opts.task)) throw new UsageError(`--task must be one of ${TASKS.join(', ')}`);
  const num = (name, v, check) => {
    const x = Number(v);
    if (!Number.isFinite(x) || !check(x)) throw new UsageError(`bad value for ${name}: ${v}`);
    return x;
  };
  if (opts.minScore !== undefined) opts.minScore = num('--min-score', opts.minScore, (x) => x > 0 && x < 1);
  if (opts.maxResults !== undefined) opts.maxResults = num('--max-results', opts.maxResults, (x) => Number.isInteger(x) && x > 0);
  if (opts.inputSize !== undefined) opts.inputSize = num('--input-size', opts.inputSize, (x) => Number.isInteger(x) && x > 0 && x % 32 === 0);
  opts.threads = num('--threads', opts.threads, (x) => Number.isInteger(x) && x >= 1);
  if (opts.inputSize !== undefined && opts.task !== 'tiny') throw new UsageError('--input-size applies to --task tiny only');
  if (opts.maxResults !== undefined && opts.task !== 'ssd') throw new UsageError('--max-results applies to --task ssd only');
  if (opts.minScore !== undefined && !['ssd', 'tiny'].includes(opts.task)) throw new UsageError('--min-score applies to ssd and tiny only');
  return opts;
}

// Parse the raw input file into [{height, width, data: Uint8Array|Float32Array}].
function readImages(file, isFloat) {
  let buf;
  try { buf = fs.readFileSync(file); } catch (e) { throw new UsageError(`cannot read --input ${file}: ${e.message}`); }
  const images = [];
  const bytesPer = isFloat ? 4 : 1;
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < 8) throw new Error(`${file}: truncated header of image ${images.length} at byte ${off}`);
    const height = buf.readUInt32LE(off);
    const width = buf.readUInt32LE(off + 4);
    off += 8;
    if (height < 1 || width < 1 || height * width > 2 ** 26) throw new Error(`${file}: image ${images.length} has bad size ${height}x${width}`);
    const n = height * width * 3;
    if (buf.length - off < n * bytesPer) throw new Error(`${file}: image ${images.length} (${height}x${width}) needs ${n * bytesPer} bytes, only ${buf.length - off} left`);
    let data;
    if (isFloat) {
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(off + 4 * i);
    } else {
      data = new Uint8Array(buf.buffer, buf.byteOffset + off, n).slice();
    }
    off += n * bytesPer;
    images.push({ height, width, data });
  }
  if (images.length === 0) throw new Error(`${file}: no images`);
  return images;
}

const round6 = (x) => Math.round(x * 1e6) / 1e6;
const boxOf = (det) => [det.box.x, det.box.y, det.box.width, det.box.height];

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    const src = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
    process.stdout.write(`${src.slice(1, src.findIndex((l) => l.startsWith('import'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n')}\n`);
    return;
  }
  if (!fs.existsSync(opts.models)) throw new UsageError(`--models ${opts.models} does not exist (run scripts/fetch_face_models.sh)`);
  const images = readImages(opts.input, opts.inputFloat);

  // face-api's node-wasm bundle re-exports @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm as
  // faceapi.tf, so everything below uses that single TF.js instance.
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
  const { tf } = faceapi;
  const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  tf.setWasmPaths(wasmDir);
  if (opts.threads === 1) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  else tf.setThreadsCount(opts.threads);
  if (!(await tf.setBackend('wasm'))) throw new Error('could not initialise the TF.js wasm backend');
  await tf.ready();

  const t0 = performance.now();
  const nets = {
    descriptor: faceapi.nets.faceRecognitionNet,
    age_gender: faceapi.nets.ageGenderNet,
    ssd: faceapi.nets.ssdMobilenetv1,
    tiny: faceapi.nets.tinyFaceDetector,
    landmarks68: faceapi.nets.faceLandmark68Net,
    landmarks68_tiny: faceapi.nets.faceLandmark68TinyNet,
  };
  const net = nets[opts.task];
  await net.loadFromDisk(opts.models);
  const loadSeconds = (performance.now() - t0) / 1000;

  const options = {};
  let detOptions = null;
  if (opts.task === 'ssd') {
    detOptions = new faceapi.SsdMobilenetv1Options({ minConfidence: opts.minScore, maxResults: opts.maxResults });
    Object.assign(options, { min_score: detOptions.minConfidence, max_results: detOptions.maxResults, input_size: 512, iou_threshold: 0.5 });
  } else if (opts.task === 'tiny') {
    detOptions = new faceapi.TinyFaceDetectorOptions({ inputSize: opts.inputSize, scoreThreshold: opts.minScore });
    Object.assign(options, { min_score: detOptions.scoreThreshold, input_size: detOptions.inputSize, iou_threshold: 0.4 });
  }

  const results = [];
  const t1 = performance.now();
  for (const img of images) {
    const input = tf.tensor3d(img.data, [img.height, img.width, 3], opts.inputFloat ? 'float32' : 'int32');
    const r = { height: img.height, width: img.width };
    try {
      if (opts.task === 'descriptor') {
        r.descriptor = Array.from(await net.computeFaceDescriptor(input));
      } else if (opts.task === 'age_gender') {
        const p = await net.predictAgeAndGender(input);
        r.age = p.age;
        r.gender = p.gender;
        r.gender_probability = p.genderProbability;
        r.male_probability = p.gender === 'male' ? p.genderProbability : 1 - p.genderProbability;
      } else if (opts.task === 'ssd' || opts.task === 'tiny') {
        const dets = await net.locateFaces(input, detOptions);
        r.detections = dets.map((d) => ({ score: d.score, box: boxOf(d) }));
      } else {
        const lm = await net.detectLandmarks(input);
        r.points = lm.positions.map((p) => [p.x, p.y]);
      }
    } finally {
      input.dispose();
    }
    results.push(r);
  }
  const seconds = (performance.now() - t1) / 1000;

  const out = {
    task: opts.task,
    backend: tf.getBackend(),
    threads: opts.threads === 1 ? 1 : tf.getThreadsCount(),
    wasm_simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
    versions: { 'face-api': faceapi.version, tfjs: tf.version_core },
    input_format: opts.inputFloat ? 'float32' : 'uint8',
    options,
    images: images.length,
    load_seconds: round6(loadSeconds),
    seconds: round6(seconds),
    results,
  };
  const text = `${JSON.stringify(out)}\n`;
  if (opts.out) fs.writeFileSync(opts.out, text);
  else process.stdout.write(text);
  process.stderr.write(`face_api_ref: ${opts.task}: ${images.length} image(s) in ${seconds.toFixed(3)} s `
    + `(${(images.length / seconds).toFixed(1)}/s, wasm, ${out.threads} thread(s), load ${loadSeconds.toFixed(2)} s)${opts.out ? ` -> ${opts.out}` : ''}\n`);
}

main().catch((e) => {
  process.stderr.write(`face_api_ref: error: ${e.message}\n`);
  process.exit(e instanceof UsageError ? 2 : 1);
});
