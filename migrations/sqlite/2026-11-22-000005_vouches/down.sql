DROP TABLE vouch_anchors;
DROP TABLE vouches;
