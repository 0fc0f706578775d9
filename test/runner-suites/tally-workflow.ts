/** A workflow of the runner tests: counts the pings an instance was sent, from any stream. */
import { defineWorkflow } from '../../src/sagas/workflow.js';

export const tally = defineWorkflow<{ pings: number }, { type: 'Pinged'; data: { target: string } }>({
  name: 'tally',
  inputs: ['Pinged'],
  id: (event) => event.data.target,
  initialState: () => ({ pings: 0 }),
  evolve: (state, input) => (input.type === 'Pinged' ? { pings: state.pings + 1 } : state),
  decide: () => [],
});
