import { Controller, Get } from '@nestjs/common';
import { FakeErp, type ErpContent } from './fake-erp.js';

/** `GET /api/erp`: what the fake ERP holds, with its own ids, to compare with the CMS's. */
@Controller('api/erp')
export class ErpController {
  constructor(private readonly erp: FakeErp) {}

  @Get()
  content(): ErpContent {
    return this.erp.content();
  }
}
