/// The wallboard: one page, nothing fetched from elsewhere (centres' screens are often
/// offline), readable across a room. It follows `/events` (Server-Sent Events) and
/// redraws at each message; it never reloads. `/?centre=NAME` shows one centre.
/// Percentages are exact to one decimal from each rate's numerator and denominator; a
/// rate whose denominator is under `--min-cell` shows as a dash.
enum WallboardPage {
    static let html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>callsift wallboard</title>
        <style>
        body { margin: 0; font: 20px/1.35 system-ui, sans-serif; background: #101418; color: #f2f4f6; }
        header { display: flex; justify-content: space-between; align-items: baseline; padding: 12px 24px; background: #1b2229; }
        h1 { font-size: 28px; margin: 0; }
        #status { font-size: 20px; color: #9fb3c8; }
        #status.stalled { color: #101418; background: #ffb020; padding: 4px 12px; border-radius: 4px; font-weight: 700; }
        main { padding: 8px 24px 24px; }
        section { margin: 16px 0 28px; }
        h2 { font-size: 26px; margin: 8px 0; }
        table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
        th, td { padding: 6px 12px; text-align: right; border-bottom: 1px solid #2c3640; }
        th:first-child, td:first-child { text-align: left; }
        th { color: #9fb3c8; font-weight: 600; font-size: 18px; }
        td { font-size: 26px; }
        tr.total td { font-weight: 700; border-top: 2px solid #9fb3c8; }
        .note { color: #9fb3c8; font-size: 18px; margin: 6px 0; }
        .waiting { font-size: 24px; margin: 8px 0; }
        svg.chart { width: 100%; max-width: 960px; height: auto; display: block; margin: 8px 0; }
        svg.chart rect { fill: #4c9be8; }
        svg.chart text { fill: #9fb3c8; font-size: 14px; text-anchor: middle; }
        svg.chart text.count { fill: #f2f4f6; }
        .warn { color: #ffb020; }
        </style>
        </head>
        <body>
        <header><h1 id="title">Contact centre figures</h1><span id="status">Waiting for the first figures…</span></header>
        <main id="board"></main>
        <script>
        "use strict";
        const only = new URLSearchParams(location.search).get("centre");
        let last = null;
        // When this page last heard from the server (its own clock), and how long before
        // that the follower had last said it was keeping up (the server's count).
        let heard = 0, age = 0;
        function pct(r) { return r ? (Math.round(1000 * r.x / r.n) / 10).toFixed(1) + "%" : "–"; }
        function secs(ms) { return ms === null ? "–" : Math.round(ms / 1000) + " s"; }
        function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
        function row(name, f, total) {
          const tr = document.createElement("tr");
          if (total) tr.className = "total";
          for (const t of [name, String(f.contacts), String(f.handled), pct(f.abandon_rate), pct(f.service_level),
                           secs(f.asa_ms), pct(f.repeat_rate), pct(f.avoidable_rate)]) tr.appendChild(cell(t));
          return tr;
        }
        function time(ms) { return new Date(ms).toLocaleTimeString(); }
        // Today's arrivals hour by hour: 24 bars, each with its count above it.
        function chart(hours) {
          const ns = "http://www.w3.org/2000/svg", w = 960, h = 120, bar = w / 24;
          const svg = document.createElementNS(ns, "svg");
          svg.setAttribute("viewBox", "0 0 " + w + " " + (h + 40));
          svg.setAttribute("class", "chart");
          svg.setAttribute("role", "img");
          svg.setAttribute("aria-label", "Calls arriving today, hour by hour");
          const top = Math.max(1, ...hours);
          hours.forEach((n, i) => {
            const bh = Math.round((h - 20) * n / top);
            const r = document.createElementNS(ns, "rect");
            r.setAttribute("x", i * bar + 3); r.setAttribute("width", bar - 6);
            r.setAttribute("y", h - bh); r.setAttribute("height", bh);
            svg.appendChild(r);
            for (const [y, text, cls] of [[h - bh - 4, n > 0 ? String(n) : "", "count"], [h + 24, String(i).padStart(2, "0"), "hour"]]) {
              const t = document.createElementNS(ns, "text");
              t.setAttribute("x", i * bar + bar / 2); t.setAttribute("y", y);
              t.setAttribute("class", cls); t.textContent = text;
              svg.appendChild(t);
            }
          });
          return svg;
        }
        function draw(b) {
          last = b;
          document.getElementById("title").textContent = "Contact centre figures" + (b.period ? " — " + b.period : "");
          const main = document.getElementById("board");
          main.replaceChildren();
          const shown = b.centres.filter(c => !only || c.centre === only);
          if (shown.length === 0) {
            const p = document.createElement("p");
            p.className = "note";
            p.textContent = only ? "No figures for centre " + only + " yet." : "No calls yet.";
            main.appendChild(p);
          }
          for (const c of shown) {
            const s = document.createElement("section");
            const h = document.createElement("h2");
            h.textContent = c.centre;
            s.appendChild(h);
            const t = document.createElement("table");
            const head = document.createElement("tr");
            for (const n of ["Service", "Contacts", "Handled", "Abandoned", "Service level", "ASA", "Repeat", "Avoidable"]) {
              const th = document.createElement("th"); th.textContent = n; head.appendChild(th);
            }
            t.appendChild(head);
            for (const sv of c.services) t.appendChild(row(sv.service || "(all)", sv.figures, false));
            if (c.services.length !== 1) t.appendChild(row("All services", c.total, true));
            s.appendChild(t);
            s.appendChild(chart(c.hourly));
            const q = document.createElement("p");
            q.className = "waiting";
            q.textContent = c.waiting.length === 0 ? "Nobody waiting now." :
              "Waiting now: " + c.waiting.map(w => w.service + " " + w.calls + " (longest " + secs(w.longest_ms) + ")").join(", ");
            s.appendChild(q);
            const p = document.createElement("p");
            p.className = "note";
            p.textContent = c.fcr
              ? "First-contact resolution, " + c.fcr.period + ": " + pct(c.fcr) + " (95% interval " +
                (100 * c.fcr.lo).toFixed(1) + "–" + (100 * c.fcr.hi).toFixed(1) + "%, " + c.fcr.n + " contacts judged)." +
                " Today's cannot be known yet: its callers may still ring again."
              : "First-contact resolution: no earlier period can be judged yet; today's cannot be known until its callers have had time to ring again.";
            s.appendChild(p);
            main.appendChild(s);
          }
          status();
        }
        function status() {
          const el = document.getElementById("status");
          if (!last) return;
          const silent = Date.now() - heard + age;
          if (silent > last.stall_after_ms) {
            el.className = "stalled";
            el.textContent = "Feed stalled: no word from the follower for " + Math.round(silent / 1000) + " s (figures of " + time(last.updated_ms) + ")";
          } else {
            el.className = "";
            el.textContent = "Updated " + time(last.updated_ms);
          }
        }
        const events = new EventSource("/events");
        events.addEventListener("board", e => { heard = Date.now(); age = 0; draw(JSON.parse(e.data)); });
        events.addEventListener("alive", e => { heard = Date.now(); age = Number(e.data) || 0; status(); });
        events.onerror = () => {
          const el = document.getElementById("status");
          el.className = "stalled";
          el.textContent = "Feed stalled: connection lost" + (last ? " (last update " + time(last.updated_ms) + ")" : "");
        };
        setInterval(status, 1000);
        </script>
        </body>
        </html>

        """
}
