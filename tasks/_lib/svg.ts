/** A small hand-written SVG chart: lines or bars over categories, one or two y axes. */

/** One plotted series. */
export interface Series {
  name: string;
  values: (number | null)[];
  /** Which y axis it reads against (default left). */
  axis?: "left" | "right";
  kind?: "line" | "bar";
  color?: string;
}

/** What to draw. */
export interface ChartOptions {
  title: string;
  /** One label per category on the x axis. */
  xLabels: string[];
  xTitle: string;
  leftTitle: string;
  rightTitle?: string;
  series: Series[];
  /** Vertical marker lines at category indexes (e.g. "kill 1"). */
  markers?: { index: number; label: string }[];
  width?: number;
  height?: number;
}

const PALETTE = ["#d9480f", "#1971c2", "#2f9e44", "#7048e8", "#e67700"];
const PAD = { top: 48, right: 72, bottom: 64, left: 72 };

/** Escapes text for SVG. */
function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A round upper bound and step for an axis reaching `max`. */
export function niceScale(
  max: number,
  ticks = 5,
): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.2 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step) * step, step };
}

function label(v: number): string {
  return Math.abs(v) >= 1000
    ? `${+(v / 1000).toFixed(1)}k`
    : `${+v.toFixed(2)}`;
}

/** Renders the chart as a standalone SVG document. */
export function chart(o: ChartOptions): string {
  const W = o.width ?? 820, H = o.height ?? 420;
  const pw = W - PAD.left - PAD.right, ph = H - PAD.top - PAD.bottom;
  const n = Math.max(1, o.xLabels.length);
  const band = pw / n;
  const x = (i: number) => PAD.left + band * (i + 0.5);
  const maxOf = (axis: "left" | "right") =>
    Math.max(
      0,
      ...o.series.filter((s) => (s.axis ?? "left") === axis)
        .flatMap((s) => s.values.filter((v): v is number => v !== null)),
    );
  const scales = {
    left: niceScale(maxOf("left")),
    right: niceScale(maxOf("right")),
  };
  const y = (v: number, axis: "left" | "right") =>
    PAD.top + ph - (v / scales[axis].top) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${
      W / 2
    }" y="24" text-anchor="middle" font-size="16" font-weight="600">${
      esc(o.title)
    }</text>`,
  ];
  for (const axis of ["left", "right"] as const) {
    if (axis === "right" && !o.rightTitle) continue;
    const { top, step } = scales[axis];
    const tx = axis === "left" ? PAD.left - 8 : W - PAD.right + 8;
    for (let v = 0; v <= top + step / 2; v += step) {
      if (axis === "left") {
        out.push(
          `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${
            y(v, axis)
          }" y2="${y(v, axis)}" stroke="#e9ecef"/>`,
        );
      }
      out.push(
        `<text x="${tx}" y="${y(v, axis) + 4}" text-anchor="${
          axis === "left" ? "end" : "start"
        }" fill="#495057">${label(v)}</text>`,
      );
    }
    const title = axis === "left" ? o.leftTitle : o.rightTitle!;
    const ax = axis === "left" ? 18 : W - 14;
    out.push(
      `<text transform="translate(${ax},${
        PAD.top + ph / 2
      }) rotate(-90)" text-anchor="middle" fill="#495057">${esc(title)}</text>`,
    );
  }
  out.push(
    `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${PAD.top + ph}" y2="${
      PAD.top + ph
    }" stroke="#868e96"/>`,
  );
  const every = Math.ceil(n / 20);
  o.xLabels.forEach((l, i) => {
    if (i % every === 0) {
      out.push(
        `<text x="${x(i)}" y="${
          PAD.top + ph + 18
        }" text-anchor="middle" fill="#495057">${esc(l)}</text>`,
      );
    }
  });
  out.push(
    `<text x="${PAD.left + pw / 2}" y="${
      H - 28
    }" text-anchor="middle" fill="#495057">${esc(o.xTitle)}</text>`,
  );
  for (const m of o.markers ?? []) {
    out.push(
      `<line x1="${x(m.index)}" x2="${x(m.index)}" y1="${PAD.top}" y2="${
        PAD.top + ph
      }" stroke="#c92a2a" stroke-dasharray="4 3"/>`,
    );
    out.push(
      `<text x="${x(m.index) + 3}" y="${
        PAD.top + 10
      }" fill="#c92a2a" font-size="10">${esc(m.label)}</text>`,
    );
  }
  const bars = o.series.filter((s) => s.kind === "bar");
  // Bars first, so lines stay visible on top of them.
  const drawOrder = [...bars, ...o.series.filter((s) => s.kind !== "bar")];
  drawOrder.forEach((s) => {
    const si = o.series.indexOf(s);
    const color = s.color ?? PALETTE[si % PALETTE.length]!;
    const axis = s.axis ?? "left";
    if (s.kind === "bar") {
      const bw = (band * 0.7) / bars.length, k = bars.indexOf(s);
      s.values.forEach((v, i) => {
        if (v === null) return;
        const bx = x(i) - band * 0.35 + k * bw;
        out.push(
          `<rect x="${bx.toFixed(1)}" y="${y(v, axis).toFixed(1)}" width="${
            bw.toFixed(1)
          }" height="${
            (PAD.top + ph - y(v, axis)).toFixed(1)
          }" fill="${color}" fill-opacity="0.55"/>`,
        );
      });
      return;
    }
    const pts = s.values.map((v, i) =>
      v === null ? null : `${x(i).toFixed(1)},${y(v, axis).toFixed(1)}`
    )
      .filter((p): p is string => p !== null);
    out.push(
      `<polyline points="${
        pts.join(" ")
      }" fill="none" stroke="${color}" stroke-width="2"/>`,
    );
    if (pts.length <= 40) {
      for (const p of pts) {
        const [cx, cy] = p.split(",");
        out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`);
      }
    }
  });
  o.series.forEach((s, si) => {
    const color = s.color ?? PALETTE[si % PALETTE.length]!;
    const lx = PAD.left + si * 200, ly = H - 10;
    out.push(
      `<rect x="${lx}" y="${ly - 9}" width="12" height="10" fill="${color}"/>`,
    );
    out.push(
      `<text x="${lx + 16}" y="${ly}" fill="#212529">${esc(s.name)}${
        s.axis === "right" ? " (right axis)" : ""
      }</text>`,
    );
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
