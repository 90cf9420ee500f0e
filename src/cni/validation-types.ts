// The shape of an ajv standalone validator, without importing ajv at run time.
export interface SchemaError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

export interface ValidateFunction {
  (data: unknown): boolean;
  errors?: SchemaError[] | null;
}
