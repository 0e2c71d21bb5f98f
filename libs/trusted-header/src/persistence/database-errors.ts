/** Whether a database error (raw pg error or TypeORM's wrapper of it) is a unique violation, optionally of one constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const driverError = ((error as { driverError?: unknown })?.driverError ?? error) as {
    code?: string;
    constraint?: string;
  };
  return driverError?.code === '23505' && (constraint === undefined || driverError.constraint === constraint);
}
