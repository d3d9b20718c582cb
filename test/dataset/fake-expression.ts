// Hand-built CompiledExpressions (src/expr is developed in parallel; these tests depend only on the
// contract in src/expr/api.ts).
import type { CompiledExpression, EvalEnv } from '../../src/expr/api.js';
import type { InputSpec, InputValue } from '../../src/model/inputs.js';

export function fakeExpression(
  source: string,
  inputs: InputSpec[],
  test: (values: ArrayLike<InputValue>, env: EvalEnv) => boolean,
  extra: { segments?: string[]; attributes?: string[] } = {},
): CompiledExpression {
  return {
    source,
    type: 'bool',
    inputs,
    attributes: extra.attributes ?? [],
    segments: extra.segments ?? [],
    eventProps: [],
    usesNow: true,
    evaluate: (env) => test(env.inputs, env),
    test: (env) => test(env.inputs, env),
  };
}
