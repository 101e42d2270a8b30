// The settings form: checked and applied on the box, which restarts joren
// to apply them; the page waits for it to come back.
'use strict';

(function () {
  const { $, post } = window.joren;
  const form = $('settings-form');

  async function waitForBox() {
    // joren stops, systemd starts it again a few seconds later.
    const until = Date.now() + 120000;
    await new Promise((r) => setTimeout(r, 2000));
    while (Date.now() < until) {
      try {
        const r = await fetch('/api/ping', { cache: 'no-store', credentials: 'same-origin' });
        if (r.ok) {
          location.reload();
          return;
        }
      } catch (e) {
        // still restarting
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    $('settings-error').textContent = 'joren has not come back after two minutes: check the box (its journal).';
    $('settings-error').hidden = false;
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const changes = {};
    for (const input of form.querySelectorAll('input')) {
      if (input.value !== input.dataset.was) changes[input.name] = input.value.trim();
    }
    for (const p of form.querySelectorAll('.problem')) p.textContent = '';
    const err = $('settings-error');
    err.hidden = true;
    if (!Object.keys(changes).length) {
      err.textContent = 'Nothing changed.';
      err.hidden = false;
      return;
    }
    $('settings-save').disabled = true;
    const r = await post('/api/settings', changes);
    if (r.ok && r.json.restarting) {
      window.joren.stop('Saved. joren is restarting to apply the settings\u2026 this page comes back by itself.');
      waitForBox();
      return;
    }
    $('settings-save').disabled = false;
    err.textContent = r.json.error || 'Not saved (' + r.status + ').';
    err.hidden = false;
    for (const [key, msg] of Object.entries(r.json.problems || {})) {
      const at = form.querySelector('.problem[data-for="' + key + '"]');
      if (at) at.textContent = msg;
      else err.textContent += ' ' + msg;
    }
  });
})();
