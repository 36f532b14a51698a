// The page's first script (an entry of its own, loaded async from index.html's head before the
// app's bundle): the Fleet page's data is asked for while the bundle still downloads and parses.
import { startEarlyBootstrap } from './lib/twin-call';

startEarlyBootstrap();
