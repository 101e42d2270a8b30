// The installer page: polls /api/live for the newest frame's faces, then
// fetches that frame's JPEG and draws the faces' boxes over it; polls
// /api/status for the counts and the last visitors. No library, nothing
// from the internet: the page must work on a shop's LAN.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const LIVE_EVERY = 250; // ms between frames asked for
  const STATUS_EVERY = 1000;
  let stopped = false;
  let shownSeq = 0;
  let objectURL = null;
  let offAt = null;

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // stop ends the polling and says why, removing the last picture.
  function stop(msg) {
    if (stopped) return;
    stopped = true;
    const g = $('gone');
    g.textContent = msg;
    g.hidden = false;
    $('frame').removeAttribute('src');
    $('boxes').replaceChildren();
    if (objectURL) URL.revokeObjectURL(objectURL);
    objectURL = null;
    $('live-state').textContent = msg;
    $('live-state').hidden = false;
  }

  class Gone extends Error {}

  async function get(url) {
    let r;
    try {
      r = await fetch(url, { cache: 'no-store', credentials: 'same-origin' });
    } catch (e) {
      throw new Error('the box does not answer');
    }
    if (r.status === 401) {
      // The session ended (logged out elsewhere, or the box restarted).
      location.assign('/');
      throw new Gone('logged out');
    }
    if (r.status === 503) {
      stop('The installer page has turned itself off. Restart joren on the box to turn it on again.');
      throw new Gone('off');
    }
    return r;
  }

  function label(f) {
    const w = f.box[2] - f.box[0];
    const parts = [];
    if (f.passed) {
      parts.push('\u2713 q ' + f.quality.toFixed(2));
    } else if (f.reason === 'small') {
      parts.push('\u2717 small');
    } else {
      parts.push('\u2717 ' + (f.reason || 'not used') + ' q ' + f.quality.toFixed(2));
    }
    parts.push(w + ' px');
    if (f.track) parts.push('#' + f.track);
    return parts.join(' \u00b7 ');
  }

  function drawBoxes(j) {
    const boxes = [];
    for (const f of j.faces) {
      const d = document.createElement('div');
      d.className = 'box ' + (f.passed ? 'ok' : 'bad');
      // A face at the top of the picture gets its label below the box.
      if (f.box[1] < 0.06 * j.height) d.classList.add('low');
      d.dataset.box = f.box.join(',');
      // Percentages of the frame: the boxes follow the picture's size.
      d.style.left = (100 * f.box[0] / j.width) + '%';
      d.style.top = (100 * f.box[1] / j.height) + '%';
      d.style.width = (100 * (f.box[2] - f.box[0]) / j.width) + '%';
      d.style.height = (100 * (f.box[3] - f.box[1]) / j.height) + '%';
      const l = document.createElement('span');
      l.className = 'label';
      l.textContent = label(f);
      d.appendChild(l);
      boxes.push(d);
    }
    $('boxes').replaceChildren(...boxes);
  }

  function liveInfo(j) {
    const n = j.faces.length;
    let s = j.width + '\u00d7' + j.height + ' \u00b7 ' + n + (n === 1 ? ' face' : ' faces');
    if (j.age_ms > 2000) {
      s += ' \u00b7 the camera sent nothing for ' + Math.round(j.age_ms / 1000) + ' s';
    }
    $('live-info').textContent = s;
  }

  async function liveOnce() {
    const j = await (await get('/api/live')).json();
    if (j.waiting) {
      $('live-state').textContent = 'Waiting for the camera\u2026';
      $('live-state').hidden = false;
      return;
    }
    if (j.seq === shownSeq) {
      liveInfo(j);
      return;
    }
    const r = await get(j.image);
    if (!r.ok) return; // a newer frame replaced it: ask again
    const url = URL.createObjectURL(await r.blob());
    const img = $('frame');
    try {
      await new Promise((ok, fail) => {
        img.onload = ok;
        img.onerror = fail;
        img.src = url;
      });
    } catch (e) {
      URL.revokeObjectURL(url);
      throw new Error('a frame could not be shown');
    }
    // The old frame's bytes go as soon as the new one shows.
    if (objectURL) URL.revokeObjectURL(objectURL);
    objectURL = url;
    shownSeq = j.seq;
    $('live').style.aspectRatio = j.width + ' / ' + j.height;
    $('live').dataset.seq = j.seq;
    drawBoxes(j);
    liveInfo(j);
    $('live-state').hidden = true;
  }

  function bytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1 << 20) return (n / 1024).toFixed(1) + ' KB';
    return (n / (1 << 20)).toFixed(1) + ' MB';
  }

  function two(n) {
    return String(n).padStart(2, '0');
  }

  function clock(t) {
    const d = new Date(t);
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  }

  function showStatus(j) {
    const c = j.counts;
    $('c-frames').textContent = c.frames.toLocaleString('en');
    $('c-fps').textContent = c.fps.toFixed(1);
    $('c-dropped').textContent = c.dropped.toLocaleString('en');
    $('c-visits').textContent = c.visits_today;
    $('c-regulars').textContent = c.regulars_today;
    $('c-outbox').textContent = c.outbox.toLocaleString('en');
    $('c-visitors').textContent = c.visitors.toLocaleString('en');
    $('c-store').textContent = bytes(c.store_bytes);
    const rows = j.decisions.map((d) => {
      const tr = document.createElement('tr');
      const kind = d.kind.replace(' ', '-');
      for (const [text, cls] of [
        [clock(d.time), 'time'],
        [d.who || '\u2014', 'who'],
        [d.kind, 'kind ' + kind],
        [String(d.visits), 'num'],
        [String(d.days), 'num'],
      ]) {
        const td = document.createElement('td');
        td.className = cls;
        td.textContent = text;
        tr.appendChild(td);
      }
      return tr;
    });
    $('decisions').replaceChildren(...rows);
    $('no-decisions').hidden = rows.length > 0;
    if (j.off_at && $('off-in')) {
      // The box's clock says how long is left; this browser's clock
      // may be off.
      const left = new Date(j.off_at) - new Date(j.now);
      offAt = Date.now() + left;
      const min = Math.max(0, Math.ceil(left / 60000));
      $('off-in').textContent = ' (in ' + min + ' min)';
    }
  }

  async function showConfig() {
    const j = await (await get('/api/config')).json();
    const rows = [];
    let section = '';
    for (const s of j.settings) {
      const [sec] = s.key.split('.');
      if (sec !== section) {
        section = sec;
        const tr = document.createElement('tr');
        const th = document.createElement('th');
        th.colSpan = 2;
        th.textContent = sec;
        tr.appendChild(th);
        rows.push(tr);
      }
      const tr = document.createElement('tr');
      const k = document.createElement('td');
      k.textContent = s.key;
      const v = document.createElement('td');
      v.textContent = s.value === '' ? '(empty)' : s.value;
      if (s.value === '') v.className = 'empty';
      tr.append(k, v);
      rows.push(tr);
      if (s.key === 'vision.min_face') $('min-face').textContent = s.value;
    }
    $('config').replaceChildren(...rows);
  }

  async function loop(every, once) {
    while (!stopped) {
      const t0 = performance.now();
      try {
        await once();
      } catch (e) {
        if (e instanceof Gone) return;
        $('live-state').textContent = 'Cannot reach the box: ' + e.message + '. Retrying\u2026';
        $('live-state').hidden = false;
      }
      await sleep(Math.max(50, every - (performance.now() - t0)));
    }
  }

  async function statusOnce() {
    showStatus(await (await get('/api/status')).json());
  }

  // Once off, the page cannot answer: say so even without a request.
  setInterval(() => {
    if (offAt !== null && Date.now() >= offAt) {
      stop('The installer page has turned itself off. Restart joren on the box to turn it on again.');
    }
  }, 1000);

  // "Test the light": the staff's "regular" pattern, to check the wiring.
  const testButton = $('test-indicator');
  if (testButton) {
    testButton.addEventListener('click', async () => {
      const out = $('test-result');
      testButton.disabled = true;
      try {
        const r = await fetch('/api/test-indicator', { method: 'POST', credentials: 'same-origin' });
        const j = await r.json().catch(() => ({}));
        out.textContent = r.ok
          ? 'Played: did the LED blink three times, with a short beep?'
          : 'Not played: ' + (j.error || r.status);
      } catch (e) {
        out.textContent = 'Not played: the box does not answer.';
      }
      setTimeout(() => { testButton.disabled = false; }, 3000);
    });
  }

  showConfig().catch(() => {});
  loop(STATUS_EVERY, statusOnce);
  loop(LIVE_EVERY, liveOnce);
})();
