import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { IsText } from './validation.js';

/** `?page=1&perPage=20`: every list in the admin API is paginated the same way. */
export class PageQueryDto {
  @ApiPropertyOptional({ minimum: 1, default: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number' })
  @Min(1, { message: 'must be at least 1' })
  @Max(1_000_000, { message: 'must be at most 1000000' })
  page: number = 1;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'must be a whole number' })
  @Min(1, { message: 'must be at least 1' })
  @Max(100, { message: 'must be at most 100' })
  perPage: number = 20;
}

export class SearchPageQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Case-insensitive substring match' })
  @IsOptional()
  @IsText(256)
  search?: string;
}

export const BOOLEAN_STRINGS = ['true', 'false'] as const;
export const IsBooleanString = () => IsIn(BOOLEAN_STRINGS, { message: 'must be true or false' });

/** A page of results. */
export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  perPage: number;
}

export function offsetOf(query: PageQueryDto): number {
  return (query.page - 1) * query.perPage;
}

/** Escapes LIKE wildcards so a search for `50%` finds `50%`, not everything. */
export function likePattern(search: string): string {
  return `%${search.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}
