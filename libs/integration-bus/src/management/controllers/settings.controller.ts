import { Body, Get, Patch } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBody, ApiOperation } from '@nestjs/swagger';
import { IntegrationBus } from '../../integration-bus.service.js';
import type { IntegrationBusSettings } from '../../interfaces/integration-bus-options.interface.js';
import { SETTING_KEYS } from '../../interfaces/resolve-options.js';
import { RequestInput, RequestValidationError } from '../validation/request-input.js';
import { AdminApiController } from './admin-api.decorator.js';

/** `/{path}/settings`: the five switches of SPEC §6, stored in the database for every instance. */
@AdminApiController('settings')
export class SettingsController {
  constructor(private readonly bus: IntegrationBus) {}

  @Get()
  @ApiOperation({ summary: 'The five switches' })
  get(): Promise<IntegrationBusSettings> {
    return this.bus.getSettings();
  }

  @Patch()
  @ApiOperation({
    summary: 'Change some of the five switches',
    description: 'Each of the four others works only while `enabled` is on.',
  })
  @ApiBody({
    schema: {
      type: 'object',
      minProperties: 1,
      properties: Object.fromEntries(SETTING_KEYS.map((key) => [key, { type: 'boolean' }])),
    },
  })
  @ApiBadRequestResponse({
    description: 'An unknown switch or a value that is not a boolean; `field` names it.',
  })
  update(@Body() body: unknown): Promise<IntegrationBusSettings> {
    const input = RequestInput.body(body, SETTING_KEYS);
    const patch: Partial<IntegrationBusSettings> = {};
    for (const key of SETTING_KEYS) {
      const value = input.boolean(key);
      if (value !== undefined) patch[key] = value;
    }
    if (Object.keys(patch).length === 0) {
      throw new RequestValidationError('body', `must set at least one of ${SETTING_KEYS.join(', ')}.`);
    }
    return this.bus.updateSettings(patch);
  }
}
