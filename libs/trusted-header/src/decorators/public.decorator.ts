import { SetMetadata } from '@nestjs/common';
import { IS_PUBLIC_KEY } from '../trusted-header.constants.js';

/** Opts a handler or controller out of TrustedHeaderGuard (for example a health check). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC_KEY, true);
