// Rebuild progress: poll /admin/api/projections/:name/rebuild every 500 ms until done.
(() => {
  'use strict';
  const set = (id, text) => {
    const element = document.getElementById(id);
    if (element) element.textContent = text;
  };
  const poll = async (name) => {
    let state;
    try {
      const response = await fetch(`/admin/api/projections/${encodeURIComponent(name)}/rebuild`, {
        headers: { accept: 'application/json' },
      });
      state = response.ok ? await response.json() : undefined;
    } catch {
      state = undefined;
    }
    if (state) {
      const progress = state.progress;
      if (progress) {
        const bar = document.getElementById('rebuild-progress');
        bar.max = Math.max(1, progress.total);
        bar.value = progress.handled;
        set('rebuild-events', `${progress.handled} / ${progress.total}`);
        set('rebuild-rate', String(progress.eventsPerSecond));
        set(
          'rebuild-eta',
          progress.etaSeconds === undefined || progress.etaSeconds === null ? '–' : `${progress.etaSeconds} s`,
        );
      }
      set('rebuild-state', state.error ? `failed: ${state.error}` : state.done ? 'done' : 'running');
      if (state.done) {
        document.body.dataset.rebuildDone = 'true';
        return;
      }
    }
    setTimeout(() => void poll(name), 500);
  };
  document.addEventListener('DOMContentLoaded', () => {
    const root = document.getElementById('rebuild');
    if (root) void poll(root.dataset.projection);
  });
})();
