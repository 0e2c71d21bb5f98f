import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { TrustedHeaderOptions } from './config/trusted-header-options.js';

export const {
  ConfigurableModuleClass: ConfigurableTrustedHeaderModule,
  MODULE_OPTIONS_TOKEN: TRUSTED_HEADER_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<TrustedHeaderOptions>({ moduleName: 'TrustedHeader' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/** What `TrustedHeaderModule.forRoot()` takes: the options and `isGlobal`. */
export type TrustedHeaderModuleOptions = typeof OPTIONS_TYPE;

/** What `TrustedHeaderModule.forRootAsync()` takes. */
export type TrustedHeaderModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;
