/// <reference lib="dom" />
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

/** A uPlot line chart over time; `series` are the lines' names, `data[0]` the times (seconds). */
export function Chart(props: { title: string; series: string[]; data: number[][]; testId: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = props.series.join('\u0000');
  useEffect(() => {
    if (!box.current) return;
    const colors = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];
    plot.current = new uPlot(
      {
        title: props.title,
        width: Math.min(900, box.current.clientWidth || 900),
        height: 220,
        series: [{}, ...props.series.map((label, i) => ({ label, stroke: colors[i % colors.length]!, width: 2 }))],
        axes: [{}, { size: 70 }],
      },
      props.data as uPlot.AlignedData,
      box.current,
    );
    return () => plot.current?.destroy();
  }, [shape]);
  useEffect(() => plot.current?.setData(props.data as uPlot.AlignedData), [props.data]);
  return html`<div class="chart" data-testid=${props.testId} ref=${box}></div>`;
}
