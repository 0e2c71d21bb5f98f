import { Controller, Get, Header } from '@nestjs/common';
import { ApiProduces } from '@nestjs/swagger';
import { Public } from 'nestjs-trusted-header';
import { PrometheusExposition } from './prometheus-exposition.js';

@Controller('metrics')
export class MetricsController {
  constructor(private readonly exposition: PrometheusExposition) {}

  /**
   * The Prometheus text exposition of the library's counters and histogram (`trusted_header_*`). Public, like
   * /health, so that a scraper needs no login; the counts name reason codes and outcomes, never a user, token,
   * address or header value.
   */
  @Get()
  @Public()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiProduces('text/plain')
  scrape(): Promise<string> {
    return this.exposition.text();
  }
}
