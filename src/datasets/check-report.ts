/** What `falip data check` reports of a dataset folder, whatever its task. */
export interface CheckReport<C extends object = object> {
  /** No errors; warnings do not fail a check. */
  ok: boolean;
  /** `file:line: field: problem`. */
  errors: string[];
  warnings: string[];
  /** Over the lines that passed the schema. */
  counts: C;
}
