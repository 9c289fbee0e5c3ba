/** offset/limit paging: "1–10 of 23", previous/next, page size. */
const SIZES = [10, 20, 50, 100];

interface Props {
  offset: number;
  limit: number;
  total: number;
  onChange(offset: number, limit: number): void;
}

export function Pager({ offset, limit, total, onChange }: Props) {
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + limit, total);
  return (
    <div class="pager">
      <span class="pager-range">{first}–{last} of {total}</span>
      <button type="button" class="btn btn-small" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - limit), limit)}>Previous</button>
      <button type="button" class="btn btn-small" disabled={offset + limit >= total} onClick={() => onChange(offset + limit, limit)}>Next</button>
      <label class="pager-size">
        Per page{' '}
        <select value={limit} onChange={(e) => onChange(0, Number((e.target as HTMLSelectElement).value))}>
          {SIZES.map((s) => <option value={s}>{s}</option>)}
        </select>
      </label>
    </div>
  );
}
