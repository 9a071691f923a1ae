// Dashboard charts: fetch /admin/api/stats every 5 s and redraw (Chart.js from /assets/chartjs).
/* global Chart */
(() => {
  'use strict';
  const COLORS = ['#0d6efd', '#198754', '#dc3545', '#fd7e14', '#6f42c1', '#20c997', '#6c757d', '#ffc107'];
  const charts = {};
  const label = (minute) => minute.slice(11);

  const upsert = (id, type, labels, datasets, options) => {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    if (charts[id]) {
      charts[id].data.labels = labels;
      charts[id].data.datasets = datasets;
      charts[id].update('none');
      return;
    }
    charts[id] = new Chart(canvas, {
      type,
      data: { labels, datasets },
      options: { animation: false, responsive: true, ...options },
    });
  };

  const LOGIN_TYPES = {
    BrowserSessionStarted: 'signed in',
    LoginFailed: 'failed (OAuth)',
    AdminLoginFailed: 'failed (admin)',
    AdminLoginLockedOut: 'locked out',
    SignInFailed: 'failed',
    SignInThrottled: 'throttled',
  };
  // The window is the last 60 samples (5 min at one per 5 s): filled with empty slots from the start so
  // the first samples draw at the right edge of a full-width chart, not stretched across it.
  const WINDOW = 60;
  const systemHistory = {
    labels: Array(WINDOW).fill(''),
    cpu: Array(WINDOW).fill(null),
    memory: Array(WINDOW).fill(null),
  };

  const draw = (stats) => {
    if (stats.events) {
      const types = Object.entries(stats.events.byType)
        .sort((a, b) => b[1].reduce((x, y) => x + y, 0) - a[1].reduce((x, y) => x + y, 0))
        .slice(0, 8);
      upsert(
        'chart-events',
        'bar',
        stats.events.minutes.map(label),
        types.map(([type, counts], i) => ({ label: type, data: counts, backgroundColor: COLORS[i % COLORS.length] })),
        { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
      );
      upsert(
        'chart-logins',
        'line',
        stats.events.minutes.map(label),
        Object.entries(LOGIN_TYPES).map(([type, name], i) => ({
          label: name,
          data: stats.events.byType[type] || stats.events.minutes.map(() => 0),
          borderColor: COLORS[i],
          tension: 0.2,
        })),
        { scales: { y: { beginAtZero: true } } },
      );
    } else {
      document.getElementById('events-unavailable')?.classList.remove('d-none');
    }
    if (stats.log) {
      upsert(
        'chart-requests',
        'line',
        stats.log.minutes.map(label),
        [
          { label: 'requests', data: stats.log.requests, borderColor: COLORS[0], tension: 0.2 },
          { label: '5xx / errors', data: stats.log.errors, borderColor: COLORS[2], tension: 0.2 },
          { label: '4xx', data: stats.log.clientErrors, borderColor: COLORS[3], tension: 0.2 },
        ],
        { scales: { y: { beginAtZero: true } } },
      );
    } else {
      document.getElementById('requests-unavailable')?.classList.remove('d-none');
      upsert('chart-requests', 'line', [], [], {});
    }
    const s = stats.system;
    const now = new Date().toISOString().slice(11, 19);
    systemHistory.labels.push(now);
    systemHistory.cpu.push(s.cpuPercent);
    systemHistory.memory.push(s.memory.percent);
    if (systemHistory.labels.length > WINDOW) for (const key of Object.keys(systemHistory)) systemHistory[key].shift();
    upsert(
      'chart-system',
      'line',
      [...systemHistory.labels],
      [
        { label: 'CPU %', data: [...systemHistory.cpu], borderColor: COLORS[0] },
        { label: 'memory %', data: [...systemHistory.memory], borderColor: COLORS[1] },
      ],
      { scales: { y: { min: 0, max: 100 } } },
    );
    const summary = document.getElementById('system-summary');
    if (summary)
      summary.textContent = `${s.cpuPercent}% · ${s.memory.percent}% · ${s.disk ? s.disk.percent + '%' : 'n/a'}`;
    const lag = document.getElementById('loop-lag');
    if (lag) lag.textContent = `mean ${s.eventLoop.meanMs.toFixed(1)} ms · p99 ${s.eventLoop.p99Ms.toFixed(1)} ms`;
    const rows = document.getElementById('projection-rows');
    if (rows) {
      rows.replaceChildren(
        ...stats.projections.map((p) => {
          const tr = document.createElement('tr');
          const link = document.createElement('a');
          link.href = `/admin/projections#${p.name}`;
          link.textContent = p.name;
          const cells = [link, p.status, String(p.lagEvents), String(Math.round(p.lagSeconds))];
          for (const value of cells) {
            const td = document.createElement('td');
            td.append(value);
            tr.append(td);
          }
          return tr;
        }),
      );
    }
    document.body.dataset.statsLoaded = 'true';
  };

  const refresh = async () => {
    try {
      const response = await fetch('/admin/api/stats', { headers: { accept: 'application/json' } });
      if (response.ok) draw(await response.json());
    } catch {
      // offline for a moment: the next tick retries
    }
  };

  document.addEventListener('DOMContentLoaded', () => {
    void refresh();
    setInterval(refresh, 5000);
  });
})();
