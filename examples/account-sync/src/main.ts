// src/main.ts
import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/core';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

async function bootstrap(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const app = await NestFactory.create(AppModule.forRoot({ databaseUrl }));
  // Migrations before start-up: the bus registers its connectors in its tables when it starts.
  await app.get(MikroORM).migrator.up();
  await app.listen(Number(process.env.PORT ?? 3000));
  console.log(`Listening on ${await app.getUrl()}; admin page at /integration/admin`);
}

void bootstrap();
